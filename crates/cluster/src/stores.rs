//! The object stores of a cluster node: the local file system, and the lake's bucket built on
//! first use from the node's own `lake.toml` options over `AWS_*` (credentials never travel
//! with a job).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::common::{Result, exec_datafusion_err};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use url::Url;

/// Stores by URL, S3 buckets made when first asked for.
#[derive(Debug)]
pub struct LakeStores {
    known: DefaultObjectStoreRegistry,
    options: BTreeMap<String, String>,
}

impl LakeStores {
    pub fn new(options: BTreeMap<String, String>) -> LakeStores {
        LakeStores {
            known: DefaultObjectStoreRegistry::new(),
            options,
        }
    }
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        if !dangan_datasets::storage::SCHEMES.contains(&url.scheme()) {
            return self.known.get_store(url);
        }
        dangan_datasets::storage::register();
        let root = Url::parse(&format!("{}://{}/", url.scheme(), url.authority()))
            .map_err(|e| exec_datafusion_err!("{url}: {e}"))?;
        let (store, _) = dangan_datasets::storage::open(&root, &self.options)
            .map_err(|e| exec_datafusion_err!("{root}: {e}"))?;
        self.known.register_store(&root, store.clone());
        Ok(store)
    }
}
