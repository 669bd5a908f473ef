//! How a plan's tables and operators travel to the cluster: Ballista's codecs for everything
//! they know (listing tables of Parquet files, file formats, shuffles), in-memory tables as
//! Arrow IPC (an empty dataset, `search()` hits), a department's scoped table as its table and
//! scope (`query::scope::ScopedTable`) and its `ScopeExec` as the keys in scope — so the scope
//! is applied on every executor by the same operator as in one process — and a clear refusal
//! for anything else.

use std::sync::Arc;

use dangan_query::scope::{ScopeExec, ScopeParts, ScopedTable};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{Result, TableReference, plan_datafusion_err};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

/// What starts an in-memory table's bytes.
const MEMORY: &[u8] = b"dangan-mem:";
/// What starts a scoped table's bytes.
const SCOPED: &[u8] = b"dangan-scope:";
/// What starts a `ScopeExec`'s bytes.
const SCOPE_EXEC: &[u8] = b"dangan-scope-exec:";

/// A scoped table on the wire: its table and the members table as one-scan plans.
#[derive(serde::Serialize, serde::Deserialize)]
struct ScopedWire {
    inner: Vec<u8>,
    column: String,
    orgs: Option<Vec<String>>,
    members: Option<Vec<u8>>,
}

/// A `ScopeExec` on the wire (its input travels as its child).
#[derive(serde::Serialize, serde::Deserialize)]
struct ScopeExecWire {
    key: usize,
    keep: usize,
    allowed: Vec<String>,
}

fn wire_error(e: impl std::fmt::Display) -> datafusion::error::DataFusionError {
    plan_datafusion_err!("a department's scope could not be sent to the cluster: {e}")
}

/// dangan's logical codec, on every node and every client of a cluster.
#[derive(Debug, Default)]
pub struct Codec {
    inner: ballista_core::serde::BallistaLogicalExtensionCodec,
}

impl Codec {
    /// A table as the bytes of a plan that scans it (Ballista's codec and ours for its parts).
    fn provider_as_plan(&self, provider: Arc<dyn TableProvider>) -> Result<Vec<u8>> {
        let plan = LogicalPlanBuilder::scan("t", provider_as_source(provider), None)?.build()?;
        Ok(logical_plan_to_bytes_with_extension_codec(&plan, self)?.to_vec())
    }

    /// The table [`Codec::provider_as_plan`] wrote.
    fn provider_from_plan(
        &self,
        bytes: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match logical_plan_from_bytes_with_extension_codec(bytes, ctx, self)? {
            LogicalPlan::TableScan(scan) => source_as_provider(&scan.source),
            other => Err(wire_error(format!(
                "expected a table scan, got {}",
                other.display()
            ))),
        }
    }
}

impl LogicalExtensionCodec for Codec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        if let Some(wire) = buf.strip_prefix(SCOPED) {
            let wire: ScopedWire = serde_json::from_slice(wire).map_err(wire_error)?;
            let provider = |bytes: &[u8]| self.provider_from_plan(bytes, ctx);
            let scoped = ScopedTable::from_parts(ScopeParts {
                inner: provider(&wire.inner)?,
                column: wire.column,
                orgs: wire.orgs,
                members: wire.members.as_deref().map(provider).transpose()?,
            });
            return Ok(Arc::new(scoped));
        }
        let Some(ipc) = buf.strip_prefix(MEMORY) else {
            return self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx);
        };
        let batches = StreamReader::try_new(ipc, None)?.collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(scoped) = node.downcast_ref::<ScopedTable>() {
            let parts = scoped.parts();
            let wire = ScopedWire {
                inner: self.provider_as_plan(parts.inner)?,
                column: parts.column,
                orgs: parts.orgs,
                members: parts
                    .members
                    .map(|m| self.provider_as_plan(m))
                    .transpose()?,
            };
            buf.extend_from_slice(SCOPED);
            buf.extend(serde_json::to_vec(&wire).map_err(wire_error)?);
            return Ok(());
        }
        if let Some(memory) = node.downcast_ref::<MemTable>() {
            let mut batches: Vec<RecordBatch> = Vec::new();
            for part in &memory.batches {
                let part = part.try_read().map_err(|_| {
                    plan_datafusion_err!("table `{table_ref}` is being written while it is sent")
                })?;
                batches.extend(part.iter().cloned());
            }
            buf.extend_from_slice(MEMORY);
            let mut writer = StreamWriter::try_new(&mut *buf, &memory.schema())?;
            for b in &batches {
                writer.write(b)?;
            }
            writer.finish()?;
            return Ok(());
        }
        if node
            .downcast_ref::<dangan_query::sealed::SealedTable>()
            .is_some()
        {
            return Err(plan_datafusion_err!(
                "table `{table_ref}` is not distributable 无法在集群上执行: its personal values \
                 are sealed (an encrypted lake) and the executors are not given the key; run \
                 the statement without --cluster"
            ));
        }
        if let Some(remote) = node.downcast_ref::<dangan_external::timed::TimedTable>() {
            return Err(plan_datafusion_err!(
                "table `{table_ref}` is not distributable 无法在集群上执行: it is another \
                 database's (external source `{}`), read through this process's own connection; \
                 run the statement without --cluster",
                remote.source()
            ));
        }
        self.inner
            .try_encode_table_provider(table_ref, node, buf)
            .map_err(|e| {
                plan_datafusion_err!(
                    "table `{table_ref}` is not distributable 无法在集群上执行: it is read through \
                     delta-rs's own scan (partitions, column mapping or deletion vectors; \
                     `dangan lake optimize` rewrites it as plain files) ({e})"
                )
            })
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }
}

/// dangan's physical codec: Ballista's, and the department scope's operator.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    inner: ballista_core::serde::BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(wire) = buf.strip_prefix(SCOPE_EXEC) else {
            return self.inner.try_decode(buf, inputs, ctx, proto_converter);
        };
        let wire: ScopeExecWire = serde_json::from_slice(wire).map_err(wire_error)?;
        let [input] = inputs else {
            return Err(wire_error("a ScopeExec has one input"));
        };
        Ok(Arc::new(ScopeExec::from_parts(
            input.clone(),
            wire.key,
            wire.keep,
            wire.allowed.into_iter().collect(),
        )?))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some(scope) = node.downcast_ref::<ScopeExec>() else {
            return self.inner.try_encode(node, buf, proto_converter);
        };
        let (key, keep, allowed) = scope.parts();
        let wire = ScopeExecWire {
            key,
            keep,
            allowed: allowed.iter().cloned().collect(),
        };
        buf.extend_from_slice(SCOPE_EXEC);
        buf.extend(serde_json::to_vec(&wire).map_err(wire_error)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::prelude::SessionContext;

    fn table() -> (SchemaRef, Arc<dyn TableProvider>) {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "org_id",
            DataType::Utf8,
            true,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["D1", "D2"]))],
        )
        .unwrap();
        let mem = MemTable::try_new(schema.clone(), vec![vec![batch]]).unwrap();
        (schema, Arc::new(mem))
    }

    #[test]
    fn a_scoped_table_travels_with_its_rows_and_scope() {
        let codec = Codec::default();
        let (schema, mem) = table();
        let scoped = Arc::new(ScopedTable::from_parts(ScopeParts {
            inner: mem,
            column: "org_id".into(),
            orgs: Some(vec!["D1".into()]),
            members: None,
        }));
        let mut buf = Vec::new();
        let name = TableReference::bare("members");
        codec
            .try_encode_table_provider(&name, scoped, &mut buf)
            .unwrap();
        let ctx = SessionContext::new().task_ctx();
        let back = codec
            .try_decode_table_provider(&buf, &name, schema, &ctx)
            .unwrap();
        let parts = back
            .downcast_ref::<ScopedTable>()
            .expect("a scoped table")
            .parts();
        assert_eq!(parts.orgs, Some(vec!["D1".to_string()]));
        assert_eq!(parts.column, "org_id");
        let rows = parts.inner.downcast_ref::<MemTable>().unwrap().batches[0]
            .try_read()
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>();
        assert_eq!(rows, 2);
    }

    #[test]
    fn any_other_table_is_refused_as_not_distributable() {
        let (schema, _) = table();
        let other = Arc::new(datafusion::datasource::empty::EmptyTable::new(schema));
        let err = Codec::default()
            .try_encode_table_provider(&TableReference::bare("x"), other, &mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("not distributable"), "{err}");
    }
}
