//! What a document would cost, counted before it runs: a list field costs a
//! query and its rows (its `limit`, or the default, times what each row's
//! own selection costs, plus the rows an `offset` skips); every other root
//! field a query; a mutation field a write. Aliases and fragments count as
//! often as they appear. A document over `BUDGET` is refused unrun.
use std::collections::HashMap;

use juniper::{
    DefaultScalarValue, Definition, InputValue, OperationType, ScalarValue, Selection, Spanning,
    Variables,
};

use super::service_accounts::{KEYS_PER_ACCOUNT, MAX_KEYS_PER_ACCOUNT, SERVICE_ACCOUNTS};
use crate::ops::listing::MAX_LIST;

/// The most one document may cost: about 5,000 rows, which a release build
/// answers in some 15 ms and 6 MB (BENCHMARKS.md). The Prefect client's, the
/// CLI's and the console's documents cost at most about 1,100 (a default
/// list is 1,020).
pub const BUDGET: u64 = 5_000;

/// A root field: at least one read of the database.
const QUERY: u64 = 20;
/// A root mutation field: a write transaction.
const MUTATION: u64 = 500;
/// `__schema`: the whole schema, built in memory; `__type`: one type.
const SCHEMA: u64 = 100;
const TYPE: u64 = 10;

/// A list field's `limit`: its default, its most (a larger one is refused
/// by the field itself, so it counts as the most), and the query it costs
/// (none for a list read with its parent's rows).
struct List {
    default: i32,
    most: i32,
    query: u64,
}

fn list_field(name: &str) -> Option<List> {
    let root = |default| List {
        default,
        most: MAX_LIST,
        query: QUERY,
    };
    Some(match name {
        "auth_api_key"
        | "tenant"
        | "membership"
        | "membership_invitation"
        | "audit_event"
        | "webhook_delivery" => root(MAX_LIST),
        "webhook" => root(crate::ops::webhooks::MAX_WEBHOOKS as i32),
        // A report's results: one per secret sent, read with the mutation.
        "results" => List {
            default: super::leaks::MAX_REPORTED as i32,
            most: super::leaks::MAX_REPORTED as i32,
            query: 0,
        },
        // A few policy ids, read with the event; a webhook's few events.
        "determining_policies" | "events" => List {
            default: 1,
            most: 1,
            query: 0,
        },
        "service_account" => root(SERVICE_ACCOUNTS),
        "api_keys" => List {
            default: KEYS_PER_ACCOUNT,
            most: MAX_KEYS_PER_ACCOUNT,
            query: 0,
        },
        _ => return None,
    })
}

type Doc<'a> = [Definition<'a, DefaultScalarValue>];

/// The cost of `operation` (or the document's only one) in `doc` with
/// `vars`; `None` when there is no such operation (execution says why).
pub fn of(doc: &Doc<'_>, operation: Option<&str>, vars: &Variables) -> Option<u64> {
    let op = doc.iter().find_map(|d| match d {
        Definition::Operation(op)
            if operation.is_none() || op.item.name.as_ref().map(|n| n.item) == operation =>
        {
            Some(&op.item)
        }
        _ => None,
    })?;
    let fragments = doc
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.item.name.item, f.item.selection_set.as_slice())),
            Definition::Operation(_) => None,
        })
        .collect();
    // A variable the request leaves out runs with its default, so it is
    // costed with it too.
    let defaults = op
        .variables_definition
        .iter()
        .flat_map(|d| &d.item.items)
        .filter_map(|(name, def)| Some((name.item, &def.default_value.as_ref()?.item)))
        .collect();
    let mut walk = Walk {
        fragments,
        vars,
        defaults,
        memo: HashMap::new(),
    };
    Some(walk.set(&op.selection_set, Some(op.operation_type)))
}

type Set<'d, 'a> = &'d [Selection<'a, DefaultScalarValue>];
type Args<'a> = [(Spanning<&'a str>, Spanning<InputValue<DefaultScalarValue>>)];

struct Walk<'d, 'a> {
    fragments: HashMap<&'a str, Set<'d, 'a>>,
    vars: &'d Variables,
    /// The operation's variables' defaults.
    defaults: HashMap<&'a str, &'d InputValue<DefaultScalarValue>>,
    /// Fragments already counted, at the root or not (validation has ruled
    /// out cycles; this keeps a fragment spread many times at many depths
    /// linear to count).
    memo: HashMap<(&'a str, bool), u64>,
}

impl<'d, 'a> Walk<'d, 'a> {
    fn set(&mut self, set: Set<'d, 'a>, root: Option<OperationType>) -> u64 {
        set.iter()
            .map(|s| match s {
                Selection::Field(f) => {
                    let f = &f.item;
                    let args = f.arguments.as_ref().map_or(&[][..], |a| &a.item.items);
                    let children = f.selection_set.as_deref().map_or(0, |s| self.set(s, None));
                    self.field(f.name.item, args, children, root)
                }
                Selection::InlineFragment(i) => self.set(&i.item.selection_set, root),
                Selection::FragmentSpread(s) => self.fragment(s.item.name.item, root),
            })
            .fold(0, u64::saturating_add)
    }

    fn fragment(&mut self, name: &'a str, root: Option<OperationType>) -> u64 {
        if let Some(c) = self.memo.get(&(name, root.is_some())) {
            return *c;
        }
        let Some(set) = self.fragments.get(name).copied() else {
            return 0;
        };
        let c = self.set(set, root);
        self.memo.insert((name, root.is_some()), c);
        c
    }

    /// A field `name` with `args`, whose own selection costs `children`.
    fn field(
        &self,
        name: &str,
        args: &Args<'_>,
        children: u64,
        root: Option<OperationType>,
    ) -> u64 {
        if let Some(list) = list_field(name) {
            let most = u64::from(list.most.unsigned_abs());
            let limit = self
                .int_arg(args, "limit")
                .unwrap_or(u64::from(list.default.unsigned_abs()))
                .min(most);
            let offset = self.int_arg(args, "offset").unwrap_or(0);
            return list
                .query
                .saturating_add(offset)
                .saturating_add(limit.saturating_mul(children.saturating_add(1)));
        }
        let own = match (name, root) {
            ("__typename", _) => 0,
            ("__schema", _) => SCHEMA,
            ("__type", _) => TYPE,
            (_, Some(OperationType::Mutation)) => MUTATION,
            (_, Some(_)) => QUERY,
            (_, None) => 0,
        };
        own.saturating_add(children)
    }

    /// A non-negative integer argument, given or through a variable.
    fn int_arg(&self, args: &Args<'_>, arg: &str) -> Option<u64> {
        let (_, v) = args.iter().find(|(n, _)| n.item == arg)?;
        let v = match &v.item {
            InputValue::Variable(name) => self
                .vars
                .get(name)
                .or_else(|| self.defaults.get(name.as_str()).copied())?,
            other => other,
        };
        match v {
            InputValue::Scalar(s) => s.try_to_int().and_then(|n| u64::try_from(n).ok()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(doc: &str, vars: serde_json::Value) -> u64 {
        let schema = super::super::schema();
        let doc = juniper::parser::parse_document_source(doc, &schema.schema).unwrap();
        let vars: Variables = serde_json::from_value(vars).unwrap();
        of(&doc, None, &vars).unwrap()
    }

    #[test]
    fn lists_cost_their_rows_and_everything_counts_each_time() {
        let one = cost("{ auth_api_key(limit: 10) { id } }", serde_json::json!({}));
        assert_eq!(one, QUERY + 10);
        assert_eq!(
            cost("{ auth_api_key { id } }", serde_json::json!({})),
            QUERY + 1_000
        );
        // Aliases, fragments and variables count as what they stand for.
        let aliased = cost(
            "query($n: Int) { a: auth_api_key(limit: $n) { id } ...F ...F } fragment F on Query { b: auth_api_key(limit: 10) { id } }",
            serde_json::json!({ "n": 10 }),
        );
        assert_eq!(aliased, 3 * one);
        // A variable left out costs as its default, as it runs.
        let deep = "query($o: Int = 2000000000) { auth_api_key(offset: $o, limit: 1) { id } }";
        assert_eq!(cost(deep, serde_json::json!({})), QUERY + 2_000_000_000 + 1);
        assert_eq!(cost(deep, serde_json::json!({ "o": 0 })), QUERY + 1);
        let nested = "query($s: Int = 1000, $l: Int = 100) { service_account(limit: $s) { api_keys(limit: $l) { id } } }";
        assert!(cost(nested, serde_json::json!({})) > BUDGET);
        // Nested lists multiply; offsets count the rows they skip.
        assert_eq!(
            cost(
                "{ service_account(limit: 10, offset: 5) { api_keys(limit: 3) { id } } }",
                serde_json::json!({})
            ),
            QUERY + 5 + 10 * (1 + 3)
        );
        assert_eq!(
            cost(
                "mutation { a: delete_api_key(input: {key_id: \"00000000-0000-0000-0000-000000000000\"}) { success } }",
                serde_json::json!({})
            ),
            MUTATION
        );
        assert_eq!(
            cost(
                "{ auth_info { user_id } __typename }",
                serde_json::json!({})
            ),
            QUERY
        );
    }

    #[test]
    fn every_list_field_of_the_schema_has_a_cost() {
        let schema = super::super::schema();
        for ty in schema.schema.concrete_type_list() {
            let juniper::meta::MetaType::Object(o) = ty else {
                continue;
            };
            if o.name.starts_with("__") {
                continue;
            }
            for f in &o.fields {
                // Either a list field with a cost, or not a list at all.
                assert_eq!(
                    f.field_type.to_string().starts_with('['),
                    list_field(&f.name).is_some(),
                    "{}.{}: a list field needs a cost in cost.rs (and only a list field has one)",
                    o.name,
                    f.name
                );
            }
        }
    }
}
