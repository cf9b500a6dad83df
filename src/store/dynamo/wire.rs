//! The JSON of the DynamoDB requests the store sends and of the answers it reads, as serde
//! types: a request serializes straight into its body, without a JSON tree in between, and an
//! error's details are read into only the fields the store uses. The items of answers are
//! read by [`crate::dynamodb::items`].

use std::borrow::Cow;
use std::collections::HashMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::dynamodb::items::Strings;

/// An attribute value, in DynamoDB's tagged form: `{"S": "…"}`, `{"N": "…"}`, `{"SS": […]}`.
#[derive(Serialize)]
pub enum AttributeValue<'a> {
    S(Cow<'a, str>),
    N(String),
    SS(Vec<String>),
}

impl<'a> AttributeValue<'a> {
    pub fn s(value: impl Into<Cow<'a, str>>) -> Self {
        Self::S(value.into())
    }
}

/// Names with their values, in the order given: an item, a key, or an expression's
/// placeholders (`#days`, `:d0`).
pub struct Fields<'a, V>(pub Vec<(Cow<'a, str>, V)>);

impl<V> Default for Fields<'_, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'a, V> Fields<'a, V> {
    pub fn with(mut self, name: impl Into<Cow<'a, str>>, value: V) -> Self {
        self.0.push((name.into(), value));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Serialize> Serialize for Fields<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

pub type Attributes<'a> = Fields<'a, AttributeValue<'a>>;
pub type Names<'a> = Fields<'a, &'a str>;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItems<'a> {
    pub transact_items: Vec<TransactItem<'a>>,
    pub client_request_token: &'a str,
}

#[derive(Serialize)]
pub enum TransactItem<'a> {
    Put(Write<'a>),
    Update(Write<'a>),
    Delete(Write<'a>),
}

/// One write of a transaction: a put has an `Item`, an update or a delete a `Key`, an update
/// its `UpdateExpression`.
#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Write<'a> {
    pub table_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Attributes<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Attributes<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_expression: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Fields::is_empty")]
    pub expression_attribute_names: Names<'a>,
    #[serde(skip_serializing_if = "Fields::is_empty")]
    pub expression_attribute_values: Attributes<'a>,
    /// `ALL_OLD`: a failed condition's cancellation reason carries the item as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_values_on_condition_check_failure: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Query<'a> {
    pub table_name: &'a str,
    pub consistent_read: bool,
    pub key_condition_expression: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_expression: Option<&'a str>,
    pub expression_attribute_names: Names<'a>,
    pub expression_attribute_values: Attributes<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    pub projection_expression: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_key: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItem<'a> {
    pub table_name: &'a str,
    pub key: Attributes<'a>,
    pub consistent_read: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection_expression: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Scan<'a> {
    pub table_name: &'a str,
    pub projection_expression: &'a str,
    pub filter_expression: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive_start_key: Option<&'a serde_json::Value>,
}

/// The attributes reads project of a booking's item, in the order of [`StoredItem`]'s fields.
pub const STORED_ATTRIBUTES: [&str; 6] = [
    "id",
    "user_name",
    "from_date",
    "to_date",
    "created_at",
    "booking",
];

/// A booking's item as reads project it: the booking's fields, one string attribute each, and
/// its JSON, the only copy of the fields on items written before they had attributes again.
pub struct StoredItem<'a> {
    pub id: Option<Cow<'a, str>>,
    pub user_name: Option<Cow<'a, str>>,
    pub from_date: Option<Cow<'a, str>>,
    pub to_date: Option<Cow<'a, str>>,
    pub created_at: Option<Cow<'a, str>>,
    pub booking: Option<Cow<'a, str>>,
}

impl<'a> From<Strings<'a, 6>> for StoredItem<'a> {
    fn from([id, user_name, from_date, to_date, created_at, booking]: Strings<'a, 6>) -> Self {
        Self {
            id,
            user_name,
            from_date,
            to_date,
            created_at,
            booking,
        }
    }
}

impl StoredItem<'_> {
    /// Whether the item holds the booking's fields as string attributes. Asked for them, an
    /// item written when it held only the JSON answers with `to_date` alone.
    pub fn has_fields(&self) -> bool {
        [
            &self.id,
            &self.user_name,
            &self.from_date,
            &self.to_date,
            &self.created_at,
        ]
        .iter()
        .all(|value| value.is_some())
    }
}

/// The body of a `TransactionCanceledException`.
#[derive(Deserialize)]
pub struct Cancellation {
    #[serde(rename = "CancellationReasons", default)]
    pub reasons: Vec<CancellationReason>,
}

/// Why one item of a transaction failed (`Code` "None" when it did not), with the item as it
/// was when its condition failed, for the items that ask for it.
#[derive(Deserialize)]
pub struct CancellationReason {
    #[serde(rename = "Code")]
    pub code: Option<String>,
    #[serde(rename = "Item")]
    pub item: Option<HashMap<String, serde_json::Value>>,
}

impl CancellationReason {
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The value of the string attribute `name` of the item, if it has one.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.item.as_ref()?.get(name)?["S"].as_str()
    }

    /// The values of the string-set attribute `name` of the item (none if it has none).
    pub fn string_set(&self, name: &str) -> impl Iterator<Item = &str> {
        self.item
            .as_ref()
            .and_then(|item| item.get(name)?["SS"].as_array())
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_transaction_serializes_to_dynamodbs_json() {
        let put = Write {
            table_name: "t",
            item: Some(
                Attributes::default()
                    .with("pk", AttributeValue::s("A"))
                    .with("n", AttributeValue::N("7".into())),
            ),
            condition_expression: Some("attribute_not_exists(pk)".into()),
            ..Write::default()
        };
        let update = Write {
            table_name: "t",
            key: Some(Attributes::default().with("pk", AttributeValue::s("B"))),
            update_expression: Some("ADD #days :days"),
            expression_attribute_names: Names::default().with("#days", "days"),
            expression_attribute_values: Attributes::default()
                .with(":days", AttributeValue::SS(vec!["2026-03-02".into()])),
            return_values_on_condition_check_failure: Some("ALL_OLD"),
            ..Write::default()
        };
        let body = TransactWriteItems {
            transact_items: vec![TransactItem::Put(put), TransactItem::Update(update)],
            client_request_token: "token",
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": {"pk": {"S": "A"}, "n": {"N": "7"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Update": {"TableName": "t", "Key": {"pk": {"S": "B"}}, "UpdateExpression": "ADD #days :days",
                        "ExpressionAttributeNames": {"#days": "days"},
                        "ExpressionAttributeValues": {":days": {"SS": ["2026-03-02"]}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                ],
                "ClientRequestToken": "token",
            })
        );
    }

    #[test]
    fn cancellation_reasons_give_the_old_items_attributes() {
        let body = json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": {"days": {"SS": ["2026-03-03", "2026-03-02"]}, "booking_id": {"S": "01J"}}},
            ],
        });
        let cancellation: Cancellation = serde_json::from_value(body).unwrap();
        let [none, failed] = &cancellation.reasons[..] else {
            panic!("two reasons")
        };
        assert_eq!(none.code(), Some("None"));
        assert_eq!(none.string_set("days").count(), 0);
        assert_eq!(failed.string("booking_id"), Some("01J"));
        assert_eq!(
            failed.string_set("days").collect::<Vec<_>>(),
            ["2026-03-03", "2026-03-02"]
        );
        assert_eq!(failed.string("days"), None, "a set is not a string");
    }
}
