//! The values a statement binds and a row yields, the same for both
//! backends: what `Conn` (sql.rs) and the PostgreSQL session (pg.rs) share,
//! and what domain types implement to be stored (at the end of this file).
use std::borrow::Cow;

use crate::domain::api_key::KeyHash;
use crate::domain::ids::{
    AccountId, DeliveryId, InvitationId, KeyId, MembershipId, TenantId, WebhookId,
};
use crate::domain::names::{DisplayName, Email, Slug};

/// A value to bind.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

/// A value as a row holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// Something that binds as a statement's value.
pub trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

/// Something read back from a column; the message says what was wrong.
pub trait FromValue: Sized {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String>;
}

/// `&[&dyn ToValue]` from a list of values.
#[macro_export]
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$(&$p as &dyn $crate::store::sql::ToValue),*] as &[&dyn $crate::store::sql::ToValue]
    };
}

impl ToValue for Value<'_> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Value::Null => Value::Null,
            Value::Int(n) => Value::Int(*n),
            Value::Text(s) => Value::Text(Cow::Borrowed(s)),
            Value::Blob(b) => Value::Blob(Cow::Borrowed(b)),
        }
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(Cow::Borrowed(self))
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl ToValue for u32 {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for usize {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(s) => Ok(s.to_owned()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Int(n) => Ok(n),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl FromValue for u64 {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        u64::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}

impl FromValue for usize {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        usize::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

/// Any value, owned (for tests and tools that read whatever a row holds).
impl FromValue for Value<'static> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Int(n) => Value::Int(n),
            ValueRef::Text(s) => Value::Text(Cow::Owned(s.to_owned())),
            ValueRef::Blob(b) => Value::Blob(Cow::Owned(b.to_vec())),
        })
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// Ids are stored as their hyphenated text.
macro_rules! stored_as_id {
    ($($name:ty),+) => {$(
        impl ToValue for $name {
            fn to_value(&self) -> Value<'_> {
                Value::Text(self.to_string().into())
            }
        }

        impl FromValue for $name {
            fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
                match v {
                    ValueRef::Text(s) => s.parse().map_err(|e: uuid::Error| e.to_string()),
                    other => Err(format!("expected an id, found {other:?}")),
                }
            }
        }
    )+};
}

stored_as_id!(
    TenantId,
    AccountId,
    KeyId,
    MembershipId,
    InvitationId,
    WebhookId,
    DeliveryId
);

/// Names are stored as their text; the store holds only values that were
/// parsed on the way in, so what it gives back is trusted as it is.
macro_rules! stored_as_text {
    ($($name:ty),+) => {$(
        impl ToValue for $name {
            fn to_value(&self) -> Value<'_> {
                Value::Text(self.as_str().into())
            }
        }

        impl FromValue for $name {
            fn from_value(v: ValueRef<'_>) -> Result<Self, String> {
                match v {
                    ValueRef::Text(s) => Ok(<$name>::trusted(s.to_owned())),
                    other => Err(format!("expected text, found {other:?}")),
                }
            }
        }
    )+};
}

stored_as_text!(DisplayName, Slug, Email);

/// A key's hash is stored as its 32 bytes.
impl ToValue for KeyHash {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self.as_bytes()[..].into())
    }
}
