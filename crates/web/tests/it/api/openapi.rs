//! The OpenAPI document is generated from the code and lists exactly the routes the router has.

use super::raw;
use crate::support::TestApp;
use nanopost_web::api::ROUTES;
use serde_json::Value;
use std::collections::BTreeSet;

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(s)) => out.push(s),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_lists_every_route_and_only_those() {
    let app = TestApp::new().await;
    let res = raw(&app, "GET", "/api/openapi.json", None, None, vec![]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.headers["content-type"], "application/json");
    let doc = &res.json;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);

    let registered: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(undocumented.is_empty(), "routes missing from the document: {undocumented:?}");
    assert!(phantom.is_empty(), "documented but not routed: {phantom:?}");
    assert!(registered.len() >= 26);

    let ids: Vec<&str> = registered.iter().map(|(m, p)| doc["paths"][p][m]["operationId"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds repeat: {ids:?}");

    // Every operation: an id, a tag, the bearer requirement (but the document itself), a
    // success response and the problem responses; path parameters declared.
    for (method, path) in &registered {
        let op = &doc["paths"][path][method];
        assert!(op["operationId"].is_string(), "{method} {path}");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path}");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|k| k.starts_with('2')), "{method} {path}");
        assert!(responses.contains_key("4XX"), "{method} {path}");
        let params: Vec<&str> =
            op["parameters"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
        for seg in path.split('/').filter(|s| s.starts_with('{')) {
            let name = seg.trim_matches(|c| c == '{' || c == '}');
            assert!(params.contains(&name), "{method} {path} does not declare {name}");
        }
        if path == "/api/openapi.json" {
            assert_eq!(op["security"], serde_json::json!([{}]));
        }
    }
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(problem.get(field).is_some(), "Problem lacks {field}");
    }

    // No dangling references.
    let mut all = Vec::new();
    refs(doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling {r}");
    }
}

#[tokio::test]
async fn request_schemas_refuse_unknown_fields() {
    let app = TestApp::new().await;
    let doc = raw(&app, "GET", "/api/openapi.json", None, None, vec![]).await.json;
    for name in ["BrandRequest", "CreatePostRequest", "UpdatePostRequest", "ApproveRequest", "ScheduleRequest"] {
        let schema = &doc["components"]["schemas"][name];
        assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
    }
    let names: Vec<&String> = doc["components"]["schemas"].as_object().unwrap().keys().collect();
    for wanted in ["Problem", "Approval", "Variant", "Target", "MediaRef", "Schedule", "Role", "Scope", "PostState"] {
        assert!(names.iter().any(|n| *n == wanted), "no schema {wanted} in {names:?}");
    }
    assert!(!names.iter().any(|n| n.ends_with("Dto") || n.contains('.')), "{names:?}");
    let schedule = &doc["components"]["schemas"]["ScheduleRequest"];
    assert!(schedule["required"].as_array().unwrap().contains(&Value::from("at")), "{schedule}");
}
