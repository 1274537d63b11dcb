//! Prefect Cloud's scalar names: `uuid` and `timestamptz`.
use std::fmt::Display;

use chrono::{DateTime, SecondsFormat, Utc};
use juniper::GraphQLScalar;
use uuid::Uuid;

/// A UUID in its hyphenated text form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLScalar)]
#[graphql(name = "uuid", to_output_with = Self::render, from_input_with = Self::from_input, parse_token(String))]
pub struct GqlUuid(pub Uuid);

impl GqlUuid {
    fn render(&self) -> impl Display + use<> {
        self.0.hyphenated()
    }

    fn from_input(s: &str) -> Result<Self, Box<str>> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| format!("{s:?} is not a UUID").into())
    }
}

/// Any of the domain's typed ids, as a GraphQL `uuid`.
pub fn id(v: impl Into<Uuid>) -> GqlUuid {
    GqlUuid(v.into())
}

/// An instant: RFC 3339 with an offset in input, UTC (`Z`) in output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLScalar)]
#[graphql(name = "timestamptz", to_output_with = Self::render, from_input_with = Self::from_input, parse_token(String))]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    fn render(&self) -> impl Display + use<> {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    fn from_input(s: &str) -> Result<Self, Box<str>> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!("{s:?} is not an RFC 3339 time with an offset, such as 2030-01-31T00:00:00+00:00").into()
            })
    }
}
