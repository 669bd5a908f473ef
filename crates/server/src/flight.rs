//! Arrow Flight SQL on its own port (`dangan serve --flight-addr`), for analysts' Python (the
//! ADBC Flight SQL driver), DBeaver and other BI tools: statements and prepared statements
//! (read-only), the catalog (`dangan`.`public`, the tables and views the department may read,
//! with their Arrow schemas), table types and server information. Every call carries a
//! department's token — `authorization: Bearer <token>`, or HTTP basic with the token as the
//! password (then the handshake answers with the bearer header) — and runs under that
//! department's grants exactly as `--as` and the JSON API do: same session, same masks, same
//! audit.

use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, CommandStatementUpdate, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use base64::Engine;
use dangan_query::QueryEngine;
use futures::{Stream, TryStreamExt};
use prost::Message;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status, Streaming};

use crate::AppState;

/// The catalog and schema every table is in (as in the SQL sessions).
const CATALOG: &str = "dangan";
const SCHEMA: &str = "public";

static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "dangan");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    b.append(SqlInfo::FlightSqlServerReadOnly, true);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    b.append(SqlInfo::FlightSqlServerCancel, false);
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.build().expect("static server information")
});

/// The Flight SQL service over the server's state (tokens, sessions, limits).
#[derive(Clone)]
pub struct FlightSql {
    state: Arc<AppState>,
}

type DoGetStream = <FlightSql as FlightService>::DoGetStream;

/// The token a call carries: `Bearer <token>`, or basic auth with the token as the password
/// (BI tools ask for a user and a password; the user name is not used).
#[allow(clippy::result_large_err)]
fn token_of(metadata: &MetadataMap) -> Result<String, Status> {
    let missing = || {
        Status::unauthenticated(
            "需要令牌 a token is needed: authorization: Bearer <token>, or the token as the password (dangan access token create)",
        )
    };
    let value = metadata
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?
        .trim();
    let token = if let Some(t) = value.strip_prefix("Bearer ") {
        t.trim().to_string()
    } else if let Some(b) = value.strip_prefix("Basic ") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|_| Status::unauthenticated("authorization: Basic is not base64"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (user, password) = text.split_once(':').unwrap_or((&text, ""));
        // A tool that has only a user field: the token there works too.
        if password.is_empty() { user } else { password }.to_string()
    } else {
        return Err(missing());
    };
    if token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

fn query_status(e: dangan_query::Error) -> Status {
    use dangan_query::Kind;
    let status = match e.kind() {
        Kind::Refused => Status::permission_denied,
        Kind::BadStatement | Kind::TooComplex => Status::invalid_argument,
        Kind::NotFound => Status::not_found,
        Kind::Internal => Status::internal,
    };
    status(e.to_string())
}

#[allow(clippy::result_large_err)]
fn schema_bytes(schema: &Schema) -> Result<prost::bytes::Bytes, Status> {
    let options = arrow::ipc::writer::IpcWriteOptions::default();
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &options)
        .try_into()
        .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(bytes)
}

#[allow(clippy::result_large_err)]
fn utf8(bytes: &[u8], what: &str) -> Result<String, Status> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Status::invalid_argument(format!("{what} is not UTF-8")))
}

/// A `FlightInfo` whose one endpoint's ticket is `ticket` (an encoded command).
#[allow(clippy::result_large_err)]
fn info(
    schema: &Schema,
    ticket: Vec<u8>,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(e.to_string()))?
        .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket)))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// Batches as a Flight data stream (the schema is sent even when there are no rows).
fn stream(
    schema: SchemaRef,
    batches: Vec<Result<RecordBatch, arrow_flight::error::FlightError>>,
) -> Response<DoGetStream> {
    let s = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::iter(batches))
        .map_err(Status::from);
    Response::new(Box::pin(s))
}

#[allow(clippy::result_large_err)]
fn one_batch(
    batch: Result<RecordBatch, arrow_flight::error::FlightError>,
) -> Result<Response<DoGetStream>, Status> {
    let batch = batch.map_err(Status::from)?;
    Ok(stream(batch.schema(), vec![Ok(batch)]))
}

impl FlightSql {
    pub fn new(state: Arc<AppState>) -> Self {
        FlightSql { state }
    }

    pub fn into_service(self) -> FlightServiceServer<Self> {
        FlightServiceServer::new(self)
    }

    /// The department the call's token belongs to.
    async fn department(&self, metadata: &MetadataMap) -> Result<(String, String), Status> {
        let token = token_of(metadata)?;
        let department = self
            .state
            .department(&token)
            .await
            .map_err(Status::internal)?
            .ok_or_else(|| {
                Status::unauthenticated("令牌无效或已撤销 the token is not valid or was revoked")
            })?;
        Ok((token, department))
    }

    /// The session of the call's department.
    async fn session(&self, metadata: &MetadataMap) -> Result<Arc<QueryEngine>, Status> {
        let (_, department) = self.department(metadata).await?;
        self.state.session(&department).await.map_err(query_status)
    }

    /// The result columns of `sql` for the caller, planned and not run.
    async fn plan(&self, metadata: &MetadataMap, sql: &str) -> Result<SchemaRef, Status> {
        if sql.trim().is_empty() {
            return Err(Status::invalid_argument("give an SQL query 请输入 SQL"));
        }
        let session = self.session(metadata).await?;
        session.result_schema(sql).await.map_err(query_status)
    }

    /// Run `sql` for the caller within the query time limit (audited like every query).
    async fn run(
        &self,
        metadata: &MetadataMap,
        sql: &str,
    ) -> Result<Response<DoGetStream>, Status> {
        let session = self.session(metadata).await?;
        let _turn = self
            .state
            .admission
            .admit_session(&session)
            .await
            .map_err(Status::resource_exhausted)?;
        let limit = self.state.options.query_timeout;
        let r = tokio::time::timeout(limit, session.sql(sql))
            .await
            .map_err(|_| {
                Status::deadline_exceeded(format!(
                    "查询超时 the query took longer than {} s and was stopped",
                    limit.as_secs()
                ))
            })?
            .map_err(query_status)?;
        Ok(stream(r.schema, r.batches.into_iter().map(Ok).collect()))
    }

    /// The `FlightInfo` of a catalog request (answered by the `do_get` of its ticket).
    async fn metadata_info(
        &self,
        request: Request<FlightDescriptor>,
        schema: SchemaRef,
        ticket: Vec<u8>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.department(request.metadata()).await?;
        info(&schema, ticket, request.into_inner())
    }

    /// Every table and view the caller's session has, with its schema.
    async fn tables(&self, metadata: &MetadataMap) -> Result<Vec<(String, SchemaRef)>, Status> {
        let session = self.session(metadata).await?;
        let ctx = session.context();
        let Some(schema) = ctx.catalog(CATALOG).and_then(|c| c.schema(SCHEMA)) else {
            return Ok(Vec::new());
        };
        let mut names = schema.table_names();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            if name.starts_with("system_") && session.department().is_some() {
                continue;
            }
            if let Ok(Some(t)) = schema.table(&name).await {
                out.push((name, t.schema()));
            }
        }
        Ok(out)
    }
}

#[tonic::async_trait]
impl FlightSqlService for FlightSql {
    type FlightService = FlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let (token, department) = self.department(request.metadata()).await?;
        tracing::info!(%department, "Flight SQL sign-in 登录");
        let answer = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        };
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(futures::stream::iter([Ok(answer)])));
        let bearer = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::invalid_argument("the token is not a header value"))?;
        response.metadata_mut().insert("authorization", bearer);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = self.plan(request.metadata(), &query.query).await?;
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        info(
            &schema,
            ticket.as_any().encode_to_vec(),
            request.into_inner(),
        )
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let sql = utf8(&ticket.statement_handle, "the statement handle")?;
        self.run(request.metadata(), &sql).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let schema = self.plan(request.metadata(), &query.query).await?;
        Ok(ActionCreatePreparedStatementResult {
            // The statement is its own handle: nothing is kept between calls.
            prepared_statement_handle: query.query.into_bytes().into(),
            dataset_schema: schema_bytes(&schema)?,
            parameter_schema: Default::default(),
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        _request: Request<Action>,
    ) -> Result<(), Status> {
        Ok(())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let sql = utf8(
            &cmd.prepared_statement_handle,
            "the prepared statement handle",
        )?;
        let schema = self.plan(request.metadata(), &sql).await?;
        info(&schema, cmd.as_any().encode_to_vec(), request.into_inner())
    }

    async fn do_get_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let sql = utf8(
            &cmd.prepared_statement_handle,
            "the prepared statement handle",
        )?;
        self.run(request.metadata(), &sql).await
    }

    async fn do_put_statement_update(
        &self,
        _ticket: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(Status::permission_denied(
            "只读 Flight SQL is read-only: data comes in through dangan import",
        ))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = query.as_any().encode_to_vec();
        self.metadata_info(request, query.into_builder().schema(), ticket)
            .await
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.department(request.metadata()).await?;
        let mut b = query.into_builder();
        b.append(CATALOG);
        one_batch(b.build())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = query.as_any().encode_to_vec();
        self.metadata_info(request, query.into_builder().schema(), ticket)
            .await
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.department(request.metadata()).await?;
        let mut b = query.into_builder();
        b.append(CATALOG, SCHEMA);
        one_batch(b.build())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = query.as_any().encode_to_vec();
        self.metadata_info(request, query.into_builder().schema(), ticket)
            .await
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let tables = self.tables(request.metadata()).await?;
        let registry = self.state.lake.registry();
        let mut b = query.into_builder();
        for (name, schema) in tables {
            let kind = if registry.get(&name).is_ok() {
                "TABLE"
            } else {
                "VIEW"
            };
            b.append(CATALOG, SCHEMA, &name, kind, &schema)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        one_batch(b.build())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = query.as_any().encode_to_vec();
        self.metadata_info(request, query.into_builder().schema(), ticket)
            .await
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.department(request.metadata()).await?;
        let mut b = query.into_builder();
        b.append("TABLE");
        b.append("VIEW");
        one_batch(b.build())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let ticket = query.as_any().encode_to_vec();
        self.metadata_info(request, query.into_builder(&SQL_INFO).schema(), ticket)
            .await
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.department(request.metadata()).await?;
        one_batch(query.into_builder(&SQL_INFO).build())
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().unwrap());
        m
    }

    #[test]
    fn tokens_come_as_bearer_or_as_the_basic_password() {
        assert_eq!(token_of(&with("Bearer tk_abc")).unwrap(), "tk_abc");
        let basic = base64::engine::general_purpose::STANDARD.encode("analyst:tk_xyz");
        assert_eq!(
            token_of(&with(&format!("Basic {basic}"))).unwrap(),
            "tk_xyz"
        );
        let user_only = base64::engine::general_purpose::STANDARD.encode("tk_u:");
        assert_eq!(
            token_of(&with(&format!("Basic {user_only}"))).unwrap(),
            "tk_u"
        );
        for bad in ["Bearer ", "Token tk_abc", "Basic ***"] {
            let e = token_of(&with(bad)).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{bad}");
        }
        assert_eq!(
            token_of(&MetadataMap::new()).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }
}
