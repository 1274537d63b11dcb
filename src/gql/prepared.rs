//! Documents parsed and validated once: clients send the same few query
//! texts over and over, so each is kept, ready to execute and to cost, in a
//! cache keyed by its text and operation name. Only callers with a valid
//! key fill it (a stranger's documents are parsed for that request alone),
//! and it is bounded by the memory its documents take (estimated from
//! their text and the nodes parsed from it), not their number: a few large
//! or many-operation documents cannot grow it past its bound.
use std::sync::{Arc, Mutex};

use juniper::{
    DefaultScalarValue, Definition, EmptySubscription, GraphQLError, Selection, ValidatedOperation,
    Variables,
};
use lru::LruCache;

use super::{Context, Mutation, Query, Schema, cost};

/// What a prepared document is made from; what it borrows.
struct Source {
    schema: Arc<Schema>,
    text: String,
    operation: Option<String>,
}

/// The document validated (for juniper to execute) and parsed (for `cost`
/// to read: juniper keeps its own copy private).
struct Parsed<'a> {
    operation: ValidatedOperation<'a, Query, Mutation, EmptySubscription<Context>>,
    document: Vec<Definition<'a, DefaultScalarValue>>,
}

self_cell::self_cell!(
    /// One document, ready to run any number of times.
    pub struct Prepared {
        owner: Source,
        #[covariant]
        dependent: Parsed,
    }
);

impl Prepared {
    fn parse(
        schema: Arc<Schema>,
        text: &str,
        operation: Option<&str>,
    ) -> Result<Self, GraphQLError> {
        let source = Source {
            schema,
            text: text.to_owned(),
            operation: operation.map(str::to_owned),
        };
        Self::try_new(source, |s| {
            let operation = ValidatedOperation::new(&s.text, s.operation.as_deref(), &s.schema)?;
            let document = juniper::parser::parse_document_source(&s.text, &s.schema.schema)?;
            Ok(Parsed {
                operation,
                document,
            })
        })
    }

    /// About how much memory it holds: its text, and each node parsed from
    /// it, twice (juniper's validated copy and ours).
    fn weight(&self) -> usize {
        let nodes: usize = self
            .borrow_dependent()
            .document
            .iter()
            .map(|d| match d {
                Definition::Operation(o) => {
                    let o = &o.item;
                    1 + o
                        .variables_definition
                        .as_ref()
                        .map_or(0, |v| v.item.items.len())
                        + o.directives.as_ref().map_or(0, Vec::len)
                        + nodes(&o.selection_set)
                }
                Definition::Fragment(f) => {
                    1 + f.item.directives.as_ref().map_or(0, Vec::len)
                        + nodes(&f.item.selection_set)
                }
            })
            .sum();
        self.borrow_owner().text.len() + nodes.saturating_mul(NODE_BYTES)
    }

    /// What running it with `vars` would cost (`cost::of`).
    pub fn cost(&self, vars: &Variables) -> Option<u64> {
        let operation = self.borrow_owner().operation.as_deref();
        cost::of(&self.borrow_dependent().document, operation, vars)
    }

    pub fn execute(
        &self,
        vars: &Variables,
        ctx: &Context,
    ) -> Result<
        (
            juniper::Value,
            Vec<juniper::ExecutionError<DefaultScalarValue>>,
        ),
        GraphQLError,
    > {
        self.borrow_dependent().operation.execute_sync(vars, ctx)
    }
}

/// The cache: least recently used out first, within `KEPT_BYTES`.
pub struct Documents {
    schema: Arc<Schema>,
    cache: Mutex<Kept>,
}

/// The nodes (selections, arguments, directives, variables, definitions)
/// of `set`, at every depth.
fn nodes(set: &[Selection<'_, DefaultScalarValue>]) -> usize {
    set.iter()
        .map(|s| match s {
            Selection::Field(f) => {
                let f = &f.item;
                1 + f.arguments.as_ref().map_or(0, |a| a.item.items.len())
                    + f.directives.as_ref().map_or(0, Vec::len)
                    + f.selection_set.as_deref().map_or(0, nodes)
            }
            Selection::FragmentSpread(s) => 1 + s.item.directives.as_ref().map_or(0, Vec::len),
            Selection::InlineFragment(i) => {
                1 + i.item.directives.as_ref().map_or(0, Vec::len) + nodes(&i.item.selection_set)
            }
        })
        .sum()
}

/// What one parsed node takes in both copies, with its spans, names and
/// vectors, rounded up (measured from the resident memory of a server
/// filling its cache: about 0.7-0.8 KiB a node).
const NODE_BYTES: usize = 1024;

/// The cached documents and their estimated weight in bytes.
struct Kept {
    by_key: LruCache<blake3::Hash, (Arc<Prepared>, usize)>,
    bytes: usize,
}

/// The most memory kept documents may take (estimated by `weight`):
/// clients' documents weigh some tens of kilobytes each.
pub const KEPT_BYTES: usize = 4 << 20;
/// A document larger than this is parsed for its request and not kept.
pub const KEPT_LARGEST: usize = 32 * 1024;

impl Documents {
    pub fn new(schema: Schema) -> Self {
        Self {
            schema: Arc::new(schema),
            cache: Mutex::new(Kept {
                by_key: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// How many documents are kept, and their estimated weight in bytes.
    pub fn kept(&self) -> (usize, usize) {
        let k = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        (k.by_key.len(), k.bytes)
    }

    /// `text` (with `operation` picked out of it), parsed and validated,
    /// from the cache or now; kept for next time when `keep` (the caller
    /// has a valid key) and the document is small enough. A document that
    /// fails is not kept.
    pub fn prepare(
        &self,
        text: &str,
        operation: Option<&str>,
        keep: bool,
    ) -> Result<Arc<Prepared>, GraphQLError> {
        let mut h = blake3::Hasher::new();
        // The name is hashed with its length, so no text can pose as another.
        let name = operation.unwrap_or_default();
        h.update(&[u8::from(operation.is_some())]);
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(text.as_bytes());
        let key = h.finalize();
        let lock = || self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((p, _)) = lock().by_key.get(&key) {
            return Ok(p.clone());
        }
        let prepared = Arc::new(Prepared::parse(self.schema.clone(), text, operation)?);
        let weight = prepared.weight();
        if keep && text.len() <= KEPT_LARGEST && weight <= KEPT_BYTES / 8 {
            let mut kept = lock();
            match kept.by_key.put(key, (prepared.clone(), weight)) {
                Some((_, old)) => kept.bytes = kept.bytes - old + weight,
                None => kept.bytes += weight,
            }
            while kept.bytes > KEPT_BYTES {
                let Some((_, (_, gone))) = kept.by_key.pop_lru() else {
                    break;
                };
                kept.bytes -= gone;
            }
        }
        Ok(prepared)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strangers keep nothing; callers keep at most `KEPT_BYTES`, however
    /// many distinct documents they send, and a document of many nodes
    /// weighs by its nodes, not its text.
    #[test]
    fn the_cache_is_for_callers_and_bounded_in_bytes() {
        let docs = Documents::new(super::super::schema());
        for i in 0..50 {
            docs.prepare(&format!("{{ a{i}: auth_info {{ user_id }} }}"), None, false)
                .unwrap();
        }
        assert_eq!(docs.kept(), (0, 0));
        // Comments make a document long without making it expensive.
        let pad = format!("# {}\n", "x".repeat(16_000));
        for i in 0..200 {
            let doc = format!("{pad}query Q{i} {{ auth_info {{ user_id }} }}");
            docs.prepare(&doc, Some(&format!("Q{i}")), true).unwrap();
            assert!(docs.kept().1 <= KEPT_BYTES);
        }
        assert!(docs.kept().0 > 10, "{:?}", docs.kept());
        let huge = format!("# {}\n{{ auth_info {{ user_id }} }}", "x".repeat(40_000));
        let before = docs.kept();
        docs.prepare(&huge, None, true).unwrap();
        assert_eq!(
            docs.kept(),
            before,
            "a document over KEPT_LARGEST is not kept"
        );
        // 16 KB of one-field operations, 1,400 nodes: too heavy to keep.
        let many: String = (0..700)
            .map(|j| format!("query O{j} {{ __typename }}\n"))
            .collect();
        let before = docs.kept();
        for j in 0..50 {
            docs.prepare(&many, Some(&format!("O{j}")), true).unwrap();
        }
        assert_eq!(docs.kept(), before, "a document of many nodes is not kept");
        // 100 of them weigh by their 200 nodes, not their 2 KB of text.
        let some: String = (0..100)
            .map(|j| format!("query P{j} {{ __typename }}\n"))
            .collect();
        for j in 0..100 {
            docs.prepare(&some, Some(&format!("P{j}")), true).unwrap();
            assert!(docs.kept().1 <= KEPT_BYTES);
        }
        let (n, _) = docs.kept();
        assert!(n <= KEPT_BYTES / (200 * NODE_BYTES), "{n} kept");
    }
}
