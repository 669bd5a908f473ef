//! The OpenAPI 3.1 description of `/api/v1/` (served without a token), derived from the
//! handlers' own types (`utoipa`): their query strings, bodies and answers are the structs
//! the handlers take and return, so the document cannot drift from the code.

use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

/// The document's frame; the paths come from the routes (`api::routes_and_document`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "dangan 档案 API",
        description = "The archive of grassroots Party organizations' members. Every request runs \
            under the grants of the token's department (`dangan access token create --department X`): \
            datasets not granted do not exist, rows outside its scope do not exist, personal columns \
            come back masked unless granted. Days are read as the importer reads them \
            (2024-01-01, 2024/1/1, 2024年1月1日, …).",
    ),
    servers((url = "/api/v1")),
    components(schemas(crate::error::ErrorBody)),
    security(("bearer" = [])),
    modifiers(&Bearer),
    tags(
        (name = "api", description = "Who is asking and what they may read"),
        (name = "search", description = "Full-text search 全文检索"),
        (name = "sql", description = "SQL over the granted datasets"),
        (name = "members", description = "A member's archive 党员档案"),
        (name = "reports", description = "Reports 统计报表"),
        (name = "imports", description = "Uploads, import runs and their quarantine 导入"),
    )
)]
pub(crate) struct Document;

/// The bearer token every data endpoint needs.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document, as JSON.
pub fn document() -> Value {
    let mut doc = api::routes_and_document().1;
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route of the API is described, and every JSON answer has a schema of its own
    /// (not a bare object).
    #[test]
    fn every_route_is_described_with_its_types() {
        let doc = document();
        if let Ok(out) = std::env::var("DANGAN_DUMP_OPENAPI") {
            std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        }
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), 15, "{:?}", paths.keys());
        let ok = |path: &str, method: &str| {
            doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
                ["$ref"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(ok("/whoami", "get"), "#/components/schemas/WhoAmI");
        assert_eq!(ok("/search", "get"), "#/components/schemas/SearchAnswer");
        assert_eq!(ok("/sql", "post"), "#/components/schemas/SqlResult");
        assert_eq!(ok("/runs", "get"), "#/components/schemas/RunList");
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["Hit"]["properties"]["snippet"].is_object(), "{doc}");
        assert!(schemas["SqlResult"]["properties"]["columns"].is_object());
        assert!(schemas["ErrorBody"]["properties"]["code"].is_object());
        // The query strings are the handlers' structs: a parameter the handler refuses is
        // not described, one it takes is.
        let params: Vec<&str> = doc["paths"]["/search"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(
            params,
            [
                "q",
                "dataset",
                "org",
                "from",
                "to",
                "category",
                "limit",
                "offset",
                "facets",
                "exact_total"
            ]
        );
        assert_eq!(
            doc["paths"]["/search"]["get"]["responses"]["403"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/ErrorBody"
        );
        // The description itself needs no token.
        assert_eq!(
            doc["paths"]["/openapi.json"]["get"]["security"],
            serde_json::json!([{}])
        );
    }
}
