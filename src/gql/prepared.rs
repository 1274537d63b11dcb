//! Documents parsed and validated once: clients send the same few query
//! texts over and over, so each is kept, ready to execute and to cost, in a
//! bounded cache keyed by its text and operation name.
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use juniper::{
    DefaultScalarValue, Definition, EmptySubscription, GraphQLError, ValidatedOperation, Variables,
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

/// The cache: a few hundred documents, least recently used out first.
pub struct Documents {
    schema: Arc<Schema>,
    cache: Mutex<LruCache<blake3::Hash, Arc<Prepared>>>,
}

/// How many documents are kept.
const KEPT: NonZeroUsize = NonZeroUsize::new(256).unwrap();

impl Documents {
    pub fn new(schema: Schema) -> Self {
        Self {
            schema: Arc::new(schema),
            cache: Mutex::new(LruCache::new(KEPT)),
        }
    }

    /// `text` (with `operation` picked out of it), parsed and validated,
    /// from the cache or now. A document that fails is not kept.
    pub fn prepare(
        &self,
        text: &str,
        operation: Option<&str>,
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
        if let Some(p) = lock().get(&key) {
            return Ok(p.clone());
        }
        let prepared = Arc::new(Prepared::parse(self.schema.clone(), text, operation)?);
        lock().put(key, prepared.clone());
        Ok(prepared)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}
