//! What each dataset contributes to the index, derived from its spec: a dataset with `text`
//! columns gives one document per row; a dataset keyed by `member_id` with a `name` column
//! (members) gives one per member, found by name and pinyin. Nothing here names a dataset, so
//! a dataset added by a user spec is searchable without code.

use dangan_datasets::{ColumnType, DatasetSpec, Registry};

/// How the date of a document is read.
#[derive(Debug, Clone, PartialEq)]
pub enum DateColumn {
    /// A `date` or `timestamp` column.
    Date(String),
    /// An `int` year column (the document is dated the year's last day).
    Year(String),
}

/// One dataset's part of the index.
#[derive(Debug, Clone)]
pub struct Source {
    pub dataset: String,
    pub key: Vec<String>,
    /// The columns whose text is searched, in spec order.
    pub text: Vec<String>,
    /// The name column of a people dataset (pinyin keys are made from it).
    pub name: Option<String>,
    pub member_id: Option<String>,
    pub org_id: Option<String>,
    pub category: Option<String>,
    pub date: Option<DateColumn>,
}

impl Source {
    fn of(spec: &DatasetSpec) -> Option<Source> {
        let has = |n: &str| spec.column(n).is_some();
        let name = (spec.key == ["member_id"] && has("name")).then(|| "name".to_string());
        let mut text: Vec<String> = spec
            .columns
            .iter()
            .filter(|c| c.text)
            .map(|c| c.name.clone())
            .collect();
        if let Some(n) = &name
            && !text.contains(n)
        {
            text.insert(0, n.clone());
        }
        if text.is_empty() {
            return None;
        }
        // A title next to the text is worth finding too.
        if has("title") && !text.iter().any(|t| t == "title") {
            text.insert(0, "title".to_string());
        }
        let date = spec
            .columns
            .iter()
            .find(|c| {
                matches!(c.ty, ColumnType::Date | ColumnType::Timestamp) && c.name != "birth_date"
            })
            .map(|c| DateColumn::Date(c.name.clone()))
            .or_else(|| {
                spec.column("year")
                    .filter(|c| c.ty == ColumnType::Int)
                    .map(|c| DateColumn::Year(c.name.clone()))
            });
        Some(Source {
            dataset: spec.name.clone(),
            key: spec.key.clone(),
            text,
            name,
            member_id: has("member_id").then(|| "member_id".to_string()),
            org_id: has("org_id").then(|| "org_id".to_string()),
            category: has("category").then(|| "category".to_string()),
            date,
        })
    }

    /// A people dataset whose only text is the name (members): kept as a name table beside
    /// the index (see `names`), not as documents.
    pub fn name_only(&self) -> bool {
        self.name.is_some() && self.text.len() == 1
    }

    /// Every column the index reads from the table.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = self.key.clone();
        let more = self
            .text
            .iter()
            .chain(self.member_id.iter())
            .chain(self.org_id.iter())
            .chain(self.category.iter())
            .chain(self.date.iter().map(|d| match d {
                DateColumn::Date(c) | DateColumn::Year(c) => c,
            }));
        for c in more {
            if !cols.contains(c) {
                cols.push(c.clone());
            }
        }
        cols
    }
}

/// The indexed datasets of a registry.
pub fn sources(registry: &Registry) -> Vec<Source> {
    registry.iter().filter_map(|s| Source::of(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_datasets_and_members_by_name() {
        let reg = Registry::builtin().unwrap();
        let all = sources(&reg);
        let names: Vec<&str> = all.iter().map(|s| s.dataset.as_str()).collect();
        for d in [
            "growth_records",
            "feedback",
            "members",
            "appraisals",
            "meetings",
        ] {
            assert!(names.contains(&d), "{d} in {names:?}");
        }
        assert!(!names.contains(&"engagement_events"));
        let members = all.iter().find(|s| s.dataset == "members").unwrap();
        assert_eq!(members.name.as_deref(), Some("name"));
        assert_eq!(members.date, Some(DateColumn::Date("join_date".into())));
        let appraisals = all.iter().find(|s| s.dataset == "appraisals").unwrap();
        assert_eq!(appraisals.date, Some(DateColumn::Year("year".into())));
        let growth = all.iter().find(|s| s.dataset == "growth_records").unwrap();
        assert_eq!(growth.text, vec!["title", "content"]);
        assert_eq!(growth.org_id, None);
    }
}
