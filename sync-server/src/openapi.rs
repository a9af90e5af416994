//! The OpenAPI document (being written).
pub async fn document() -> crate::error::Json<serde_json::Value> {
    crate::error::Json(serde_json::json!({"openapi": "3.1.0"}))
}
