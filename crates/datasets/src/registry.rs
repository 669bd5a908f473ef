//! The set of dataset specs in force: the embedded ones plus the user's `<lake>/datasets/*.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::spec::{self, ColumnFile, CommonFile, DatasetSpec, Draft, SpecFile};

/// The built-in spec files, embedded in the binary: (file name, contents).
pub const BUILTIN_SPECS: &[(&str, &str)] = &[
    ("_common.toml", include_str!("../specs/_common.toml")),
    (
        "organizations.toml",
        include_str!("../specs/organizations.toml"),
    ),
    ("members.toml", include_str!("../specs/members.toml")),
    ("appraisals.toml", include_str!("../specs/appraisals.toml")),
    (
        "growth_records.toml",
        include_str!("../specs/growth_records.toml"),
    ),
    (
        "development.toml",
        include_str!("../specs/development.toml"),
    ),
    (
        "cadre_changes.toml",
        include_str!("../specs/cadre_changes.toml"),
    ),
    (
        "survey_responses.toml",
        include_str!("../specs/survey_responses.toml"),
    ),
    ("feedback.toml", include_str!("../specs/feedback.toml")),
    (
        "engagement_events.toml",
        include_str!("../specs/engagement_events.toml"),
    ),
    ("meetings.toml", include_str!("../specs/meetings.toml")),
    (
        "publications.toml",
        include_str!("../specs/publications.toml"),
    ),
];

/// Every dataset spec, resolved. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    datasets: BTreeMap<String, Arc<DatasetSpec>>,
}

impl Registry {
    /// Only the embedded specs.
    pub fn builtin() -> Result<Self> {
        Self::from_sources(
            BUILTIN_SPECS
                .iter()
                .map(|(n, s)| (format!("builtin:{n}"), s.to_string())),
        )
    }

    /// The embedded specs plus every `*.toml` in `user_dir` (in file-name order). A user file
    /// whose `name` is a known dataset adds to it (aliases, columns); any other name adds a
    /// dataset. A user `_common.toml` adds to the shared columns.
    pub fn load(user_dir: Option<&Path>) -> Result<Self> {
        let mut sources: Vec<(String, String)> = BUILTIN_SPECS
            .iter()
            .map(|(n, s)| (format!("builtin:{n}"), s.to_string()))
            .collect();
        if let Some(dir) = user_dir.filter(|d| d.is_dir()) {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for path in files {
                let src = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                sources.push((path.display().to_string(), src));
            }
        }
        Self::from_sources(sources.into_iter())
    }

    fn from_sources(sources: impl Iterator<Item = (String, String)>) -> Result<Self> {
        let mut common: Vec<ColumnFile> = Vec::new();
        let mut drafts: BTreeMap<String, Draft> = BTreeMap::new();
        for (file, src) in sources {
            let base = file.rsplit(['/', ':', '\\']).next().unwrap_or(&file);
            if base == "_common.toml" {
                let parsed: CommonFile = spec::parse(&file, &src)?;
                for col in parsed.columns {
                    match common
                        .iter_mut()
                        .find(|c| c.name.get_ref() == col.name.get_ref())
                    {
                        Some(existing) => {
                            let mut d = Draft::new("_common");
                            d.columns.push((existing.clone(), located(&file)));
                            let mut f = empty_file("_common");
                            f.columns.push(col);
                            d.absorb(f, &file, &src);
                            *existing = d.columns.remove(0).0;
                        }
                        None => common.push(col),
                    }
                }
                continue;
            }
            let parsed: SpecFile = spec::parse(&file, &src)?;
            let name = parsed.name.get_ref().clone();
            drafts
                .entry(name.clone())
                .or_insert_with(|| Draft::new(&name))
                .absorb(parsed, &file, &src);
        }
        let mut datasets = BTreeMap::new();
        for (name, draft) in drafts {
            datasets.insert(name, Arc::new(draft.resolve(&common)?));
        }
        let reg = Registry { datasets };
        reg.check_references()?;
        reg.check_roles()?;
        Ok(reg)
    }

    /// At most one register of people, and it is keyed by `member_id` with an `org_id`.
    fn check_roles(&self) -> Result<()> {
        let people: Vec<&Arc<DatasetSpec>> = self
            .datasets
            .values()
            .filter(|s| s.role == crate::spec::Role::People)
            .collect();
        let bad = |spec: &DatasetSpec, message: String| Error::Spec {
            file: spec.sources.join(", "),
            line: 1,
            message,
        };
        if let [first, second, ..] = people.as_slice() {
            return Err(bad(
                second,
                format!(
                    "role = \"people\" is `{}`'s already: one dataset is the register of people",
                    first.name
                ),
            ));
        }
        if let Some(p) = people.first()
            && (p.key != ["member_id"] || p.column("org_id").is_none())
        {
            return Err(bad(
                p,
                format!(
                    "`{}` has role = \"people\": it needs key = [\"member_id\"] and an org_id column",
                    p.name
                ),
            ));
        }
        Ok(())
    }

    /// The register of people (`role = "people"`: the members roster), if the lake has one.
    pub fn people(&self) -> Option<&Arc<DatasetSpec>> {
        self.datasets
            .values()
            .find(|s| s.role == crate::spec::Role::People)
    }

    fn check_references(&self) -> Result<()> {
        for spec in self.datasets.values() {
            for col in &spec.columns {
                if let Some(r) = &col.references {
                    let ok = self
                        .datasets
                        .get(&r.dataset)
                        .is_some_and(|d| d.column(&r.column).is_some());
                    if !ok {
                        return Err(Error::Spec {
                            file: spec.sources.join(", "),
                            line: 1,
                            message: format!(
                                "column `{}.{}` references `{}.{}`, which does not exist",
                                spec.name, col.name, r.dataset, r.column
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The named dataset, or an error listing the known ones.
    pub fn get(&self, name: &str) -> Result<&Arc<DatasetSpec>> {
        self.datasets
            .get(name)
            .ok_or_else(|| Error::UnknownDataset {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    pub fn names(&self) -> Vec<String> {
        self.datasets.keys().cloned().collect()
    }

    /// Dataset names in the order an import of everything should take: a dataset after the
    /// ones it references (organizations before members), then by name.
    pub fn import_order(&self) -> Vec<String> {
        fn depth(reg: &Registry, name: &str, seen: &mut Vec<String>) -> usize {
            if seen.iter().any(|s| s == name) {
                return 0; // a cycle: stop here
            }
            seen.push(name.to_string());
            let d = reg.datasets.get(name).map_or(0, |spec| {
                spec.columns
                    .iter()
                    .filter_map(|c| c.references.as_ref())
                    .map(|r| 1 + depth(reg, &r.dataset, seen))
                    .max()
                    .unwrap_or(0)
            });
            seen.pop();
            d
        }
        let mut names: Vec<(usize, String)> = self
            .datasets
            .keys()
            .map(|n| (depth(self, n, &mut Vec::new()), n.clone()))
            .collect();
        names.sort();
        names.into_iter().map(|(_, n)| n).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<DatasetSpec>> {
        self.datasets.values()
    }
}

fn located(file: &str) -> spec::Located {
    spec::Located {
        file: file.to_string(),
        line: 1,
    }
}

fn empty_file(name: &str) -> SpecFile {
    SpecFile {
        name: toml::Spanned::new(0..0, name.to_string()),
        label: None,
        description: None,
        key: None,
        mode: None,
        unpivot: None,
        role: None,
        shape: None,
        columns: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_eleven_datasets_of_the_contract() {
        let reg = Registry::builtin().unwrap();
        let names = reg.names();
        for n in [
            "organizations",
            "members",
            "appraisals",
            "growth_records",
            "development",
            "cadre_changes",
            "survey_responses",
            "feedback",
            "engagement_events",
            "meetings",
            "publications",
        ] {
            assert!(names.contains(&n.to_string()), "missing {n}");
        }
        assert_eq!(names.len(), 11);
        let m = reg.get("members").unwrap();
        assert!(m.column("id_number").unwrap().personal);
        assert!(m.column("phone").unwrap().personal);
        assert_eq!(m.key, vec!["member_id"]);
        // Shared columns carry the same aliases everywhere.
        for d in ["members", "appraisals", "development", "growth_records"] {
            let c = reg.get(d).unwrap().column("member_id").unwrap().clone();
            assert!(c.aliases.contains(&"党员编号".to_string()), "{d}");
            assert!(c.aliases.contains(&"人员编号".to_string()), "{d}");
        }
        let org = reg
            .get("members")
            .unwrap()
            .column("org_id")
            .unwrap()
            .clone();
        assert!(org.aliases.contains(&"所在党支部".to_string()));
        assert_eq!(org.references.unwrap().dataset, "organizations");
        assert!(
            reg.get("organizations")
                .unwrap()
                .column("org_id")
                .unwrap()
                .references
                .is_none()
        );
        assert!(reg.get("feedback").unwrap().column("content").unwrap().text);
    }

    #[test]
    fn import_order_puts_referenced_datasets_first() {
        let reg = Registry::builtin().unwrap();
        let order = reg.import_order();
        assert_eq!(order.len(), 11);
        let pos = |n: &str| order.iter().position(|o| o == n).unwrap();
        for spec in reg.iter() {
            for r in spec.columns.iter().filter_map(|c| c.references.as_ref()) {
                assert!(
                    pos(&r.dataset) < pos(&spec.name),
                    "{} before {}",
                    r.dataset,
                    spec.name
                );
            }
        }
        assert!(pos("organizations") < pos("members"));
    }

    #[test]
    fn date_aliases_accept_both_forms() {
        let reg = Registry::builtin().unwrap();
        let c = reg
            .get("members")
            .unwrap()
            .column("join_date")
            .unwrap()
            .clone();
        let forms = spec::header_forms(&c);
        assert!(forms.contains(&"入党时间".to_string()));
        assert!(forms.contains(&"入党日期".to_string()));
    }

    #[test]
    fn roles_and_shapes_come_from_the_specs() {
        let reg = Registry::builtin().unwrap();
        assert_eq!(reg.people().unwrap().name, "members");
        assert_eq!(
            reg.get("survey_responses").unwrap().shape,
            crate::Shape::WideSurvey
        );
        assert_eq!(reg.get("feedback").unwrap().shape, crate::Shape::Long);
        // A second register of people is refused, naming the first.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join("visits.toml"),
            "name = \"visits\"\nkey = [\"member_id\"]\nrole = \"people\"\n[[columns]]\nname = \"member_id\"\n[[columns]]\nname = \"org_id\"\n",
        )
        .unwrap();
        let e = Registry::load(Some(dir)).unwrap_err().to_string();
        assert!(e.contains("members") && e.contains("people"), "{e}");
        std::fs::write(dir.join("visits.toml"), "name = \"visits\"\nkey = [\"member_id\"]\nshape = \"tall\"\n[[columns]]\nname = \"member_id\"\n").unwrap();
        let e = Registry::load(Some(dir)).unwrap_err().to_string();
        assert!(e.contains("tall"), "{e}");
    }

    #[test]
    fn user_file_adds_aliases_and_datasets() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join("extra.toml"),
            "name = \"members\"\n[[columns]]\nname = \"phone\"\naliases = [\"移动电话\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("visits.toml"),
            "name = \"visits\"\nkey = [\"visit_id\"]\n[[columns]]\nname = \"visit_id\"\ntype = \"string\"\n[[columns]]\nname = \"member_id\"\n",
        )
        .unwrap();
        let reg = Registry::load(Some(dir)).unwrap();
        let phone = reg.get("members").unwrap().column("phone").unwrap().clone();
        assert!(phone.aliases.contains(&"移动电话".to_string()));
        assert!(phone.aliases.contains(&"手机号码".to_string()));
        assert!(phone.personal);
        let v = reg.get("visits").unwrap();
        assert!(
            v.column("member_id")
                .unwrap()
                .aliases
                .contains(&"党员编号".to_string())
        );
    }

    #[test]
    fn malformed_spec_names_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join("bad.toml"),
            "name = \"visits\"\nkey = [\"visit_id\"]\n\n[[columns]]\nname = \"visit_id\"\ntype = \"strng\"\n",
        )
        .unwrap();
        let err = Registry::load(Some(dir)).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("line 6"), "{err}");
        assert!(err.contains("strng"), "{err}");

        std::fs::write(
            dir.join("bad.toml"),
            "name = \"visits\"\nkey = [\"nope\"]\n[[columns]]\nname = \"visit_id\"\ntype = \"string\"\n",
        )
        .unwrap();
        let err = Registry::load(Some(dir)).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("nope"), "{err}");

        std::fs::write(dir.join("bad.toml"), "name = \"visits\"\nkeys = [\"a\"]\n").unwrap();
        let err = Registry::load(Some(dir)).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("keys"), "{err}");
    }
}
