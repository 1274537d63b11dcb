//! The language list filters are written in: conditions over a row's
//! attributes and the caller's ids, in disjunctive normal form, which the
//! store turns into SQL (`store::paging`). `list_filter` derives them from
//! the policies.

/// The calling key's ids, bound when the SQL runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Param {
    Key,
    Owner,
    Tenant,
}

/// A value a condition compares with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Val {
    Param(Param),
    /// An entity named in a policy: its type's base name (`Tenant`) and id.
    Entity(&'static str, String),
    Str(String),
    Bool(bool),
    Long(i64),
}

/// One test on the resource (or on the caller's own entities).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// `resource.<path> == value` (an empty path: the resource itself).
    Eq(Vec<String>, Val),
    /// `resource.<path> in value`.
    In(Vec<String>, Val),
    /// `value in resource.<path>`.
    Holds(Val, Vec<String>),
    /// `a in b` between two known entities (the caller's owner in a tenant).
    Member(Val, Val),
}

/// An atom or its negation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lit {
    pub atom: Atom,
    pub negated: bool,
}

/// Disjunctive normal form: any of the conjunctions; a conjunction holds
/// when all its literals do. No conjunctions: nothing; one empty: everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub any_of: Vec<Vec<Lit>>,
}

impl Condition {
    pub fn everything() -> Self {
        Self {
            any_of: vec![vec![]],
        }
    }

    pub fn nothing() -> Self {
        Self { any_of: vec![] }
    }
}

/// The most conjunctions a condition may have before it is given up (and
/// the list decided row by row).
const MAX_CONJUNCTIONS: usize = 16;

/// A condition tree before normalising.
#[derive(Clone, Debug)]
pub(super) enum Tree {
    Const(bool),
    Atom(Atom),
    Not(Box<Tree>),
    And(Vec<Tree>),
    Or(Vec<Tree>),
}

/// `t` in disjunctive normal form, simplified; `None` when it grows past
/// `MAX_CONJUNCTIONS`.
pub(super) fn dnf(t: &Tree) -> Option<Condition> {
    let any_of = normal(t, false)?;
    Some(Condition {
        any_of: simplify(any_of),
    })
}

/// Conjunctions of literals for `t` (negated when `neg`).
fn normal(t: &Tree, neg: bool) -> Option<Vec<Vec<Lit>>> {
    Some(match (t, neg) {
        (Tree::Const(b), _) => {
            if *b != neg {
                vec![vec![]]
            } else {
                vec![]
            }
        }
        (Tree::Atom(a), _) => vec![vec![Lit {
            atom: a.clone(),
            negated: neg,
        }]],
        (Tree::Not(inner), _) => normal(inner, !neg)?,
        (Tree::Or(ts), false) | (Tree::And(ts), true) => {
            let mut out = Vec::new();
            for t in ts {
                out.extend(normal(t, neg)?);
                if out.len() > MAX_CONJUNCTIONS * 4 {
                    return None;
                }
            }
            out
        }
        (Tree::And(ts), false) | (Tree::Or(ts), true) => {
            let mut out: Vec<Vec<Lit>> = vec![vec![]];
            for t in ts {
                let right = normal(t, neg)?;
                let mut next = Vec::new();
                for l in &out {
                    for r in &right {
                        next.push(l.iter().chain(r).cloned().collect());
                    }
                }
                out = simplify(next);
                if out.len() > MAX_CONJUNCTIONS {
                    return None;
                }
            }
            out
        }
    })
}

/// Drops contradictory conjunctions (an atom and its negation, one path
/// equal to two different values) and ones another conjunction subsumes.
fn simplify(any_of: Vec<Vec<Lit>>) -> Vec<Vec<Lit>> {
    let mut kept: Vec<Vec<Lit>> = any_of
        .into_iter()
        .map(|mut c| {
            c.sort();
            c.dedup();
            c
        })
        .filter(|c| !contradicts(c))
        .collect();
    kept.sort_by_key(Vec::len);
    let mut out: Vec<Vec<Lit>> = Vec::new();
    for c in kept {
        if !out
            .iter()
            .any(|shorter| shorter.iter().all(|l| c.contains(l)))
        {
            out.push(c);
        }
    }
    out
}

fn contradicts(c: &[Lit]) -> bool {
    c.iter().any(|a| {
        c.iter().any(|b| {
            (a.atom == b.atom && a.negated != b.negated)
                || matches!((&a.atom, &b.atom, a.negated, b.negated),
                    (Atom::Eq(p, x), Atom::Eq(q, y), false, false) if p == q && x != y)
        })
    })
}
