//! The OpenAPI 3.0 description of `/api/v1/` (served without a token).

use serde_json::{Value, json};

fn param(name: &str, place: &str, required: bool, ty: &str, description: &str) -> Value {
    json!({
        "name": name, "in": place, "required": required,
        "schema": {"type": ty}, "description": description,
    })
}

fn errors() -> Value {
    let e = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({
        "400": e("bad request or bad query (code too_complex: over the statement budget) 请求或查询有误"),
        "401": e("no token, or not a live one 需要有效令牌"),
        "403": e("not granted to the token's department 未授权"),
        "404": e("not there 不存在"),
        "429": e("too many queries of the department, or no free query slot in time 查询过多或服务器繁忙"),
        "500": e("an internal error while answering (the server goes on) 内部错误"),
        "504": e("took longer than the time limit 超时"),
    })
}

fn ok(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}})
}

fn op(summary: &str, params: Vec<Value>, ok_description: &str) -> Value {
    let mut responses = errors();
    responses["200"] = ok(ok_description);
    json!({"summary": summary, "parameters": params, "responses": responses})
}

pub fn document() -> Value {
    let q = |name: &str, ty: &str, d: &str| param(name, "query", false, ty, d);
    let mut sql_post = op(
        "Run a read-only SQL query (JSON body)",
        vec![],
        "columns, rows, row_count, truncated, duration_ms",
    );
    // With `Accept: application/vnd.apache.arrow.stream` the rows come as Arrow IPC.
    let arrow = json!({"schema": {"type": "string", "format": "binary"}, "description": "the rows as an Arrow IPC stream (each column's Chinese label in its field metadata `dangan.label`); headers x-dangan-row-count, x-dangan-truncated, x-dangan-duration-ms"});
    sql_post["responses"]["200"]["content"]["application/vnd.apache.arrow.stream"] = arrow.clone();
    sql_post["requestBody"] = json!({
        "required": true,
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["sql"],
            "properties": {"sql": {"type": "string"}, "limit": {"type": "integer"}},
        }}},
    });
    let mut sql_get = op(
        "Run a read-only SQL query",
        vec![
            param("q", "query", true, "string", "the SQL"),
            q("limit", "integer", "rows returned at most"),
        ],
        "columns, rows, row_count, truncated, duration_ms",
    );
    sql_get["responses"]["200"]["content"]["application/vnd.apache.arrow.stream"] = arrow;
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "dangan 档案 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The archive of grassroots Party organizations' members. Every request runs under the grants of the token's department (`dangan access token create --department X`): datasets not granted do not exist, rows outside its scope do not exist, personal columns come back masked unless granted.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }},
        },
        "paths": {
            "/openapi.json": {"get": {"summary": "This document (no token needed)", "security": [], "responses": {"200": ok("OpenAPI 3.0")}}},
            "/whoami": {"get": op("The token's department and the datasets it may read", vec![], "department, datasets")},
            "/datasets": {"get": op("The datasets the department may read, with their columns and Chinese labels", vec![], "datasets")},
            "/datasets/{name}/template.xlsx": {"get": op("The dataset's import template (导入模板): Chinese headers, drop-down lists of the allowed values and the lake's branches, validations, hints, a 填写说明 sheet — for a department that may import into it (403 otherwise)", vec![
                param("name", "path", true, "string", "the dataset"),
            ], "an .xlsx workbook")},
            "/search": {"get": op("Full-text search (jieba words, \"phrases\", -exclusions, OR; names and pinyin)", vec![
                param("q", "query", true, "string", "what to search for"),
                q("dataset", "string", "only these datasets (comma-separated)"),
                q("org", "string", "only this organization and those under it"),
                q("from", "string", "from this date (YYYY-MM-DD)"),
                q("to", "string", "to this date (YYYY-MM-DD)"),
                q("category", "string", "only this category"),
                q("limit", "integer", "hits per page (default 20, at most 200)"),
                q("offset", "integer", "hits to skip"),
                q("facets", "boolean", "also count every match per dataset, organization and year (default false: it costs a pass over every match)"),
            ], "total, hits (dataset, key, member_id, org_id, date, score, snippet with <mark>), facets; index_behind: the datasets whose newest rows the index does not hold yet (it is being brought in step; absent when it is)")},
            "/sql": {
                "get": sql_get,
                "post": sql_post,
            },
            "/members/{id}": {"get": op("One member's archive: profile, appraisals, development, growth records, …", vec![
                param("id", "path", true, "string", "member_id (or a name or its pinyin when only one member matches)"),
            ], "member, org_name, sections")},
            "/reports": {"get": op("The reports there are", vec![], "reports")},
            "/reports/{name}": {"get": op("A report (membership, appraisal, development, meetings, engagement, sentiment, survey, operators, feedback)", vec![
                param("name", "path", true, "string", "the report"),
                q("format", "string", "json (default), html or md"),
                q("from", "string", "first day (YYYY-MM-DD)"),
                q("to", "string", "last day (YYYY-MM-DD)"),
                q("org", "string", "an organization and those under it"),
                q("as_of", "string", "the day the report is as of"),
                q("inactive_days", "integer", "engagement: days without activity that count as inactive"),
            ], "the report")},
            "/imports": {"post": {
                "summary": "Upload a file (the request body) and check it: a dry run says what would go in and what would be rejected; nothing is written until /imports/{id}/commit. Needs a grant of the dataset with scope all.",
                "parameters": [
                    param("dataset", "query", true, "string", "the dataset"),
                    param("filename", "query", true, "string", "the file's name (.xlsx, .xls, .csv)"),
                ],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"200": ok("upload (its id), preview (the dry run's report)")},
            }},
            "/imports/{id}/commit": {"post": op("Import the checked upload: one atomic commit under the lake's lock, then the index", vec![
                param("id", "path", true, "string", "the upload id"),
            ], "report (run_id, rows written, quarantined, table version)")},
            "/imports/{id}/fixes.xlsx": {"get": {
                "summary": "The rejected rows of a confirmed upload, with what to fix, as a workbook",
                "parameters": [param("id", "path", true, "string", "the upload id")],
                "responses": {"200": {"description": "xlsx", "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
            }},
            "/runs": {"get": op("Import runs of the datasets the department may read, newest first", vec![
                q("limit", "integer", "runs at most (default 50)"),
            ], "runs")},
            "/runs/{run}/quarantine": {"get": op("A run's quarantined rows (problems and the row as it was; personal values masked unless granted); needs the dataset granted with scope all", vec![
                param("run", "path", true, "string", "the run id"),
            ], "quarantine")},
            "/runs/{run}/fixes.xlsx": {"get": {
                "summary": "A run's quarantined rows with what to fix, as a workbook (masked as above)",
                "parameters": [param("run", "path", true, "string", "the run id")],
                "responses": {"200": {"description": "xlsx", "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
            }},
        },
    })
}
