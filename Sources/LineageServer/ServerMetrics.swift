import CoreMetrics
import Foundation
import Prometheus

/// The daemon's metrics, kept in its own Prometheus registry (not the process-wide
/// MetricsSystem, which can be bootstrapped once only: tests run several servers in one
/// process). Recorded through swift-metrics types bound to this registry's factory.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Bytes sent from the store to clients (Hub resolve and LFS downloads).
    func served(bytes: Int, route: String) {
        CoreMetrics.Counter(label: "lineage_served_bytes_total", dimensions: [("route", route)], factory: factory)
            .increment(by: Int64(bytes))
    }

    func request(route: String, status: Int, seconds: Double) {
        CoreMetrics.Counter(label: "lineage_http_requests_total",
                            dimensions: [("route", route), ("status", String(status))], factory: factory).increment()
        CoreMetrics.Timer(label: "lineage_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// A finished job (sync, verify, quantize) and how long it took.
    func job(kind: String, outcome: String, seconds: Double) {
        CoreMetrics.Counter(label: "lineage_jobs_total", dimensions: [("kind", kind), ("outcome", outcome)], factory: factory)
            .increment()
        CoreMetrics.Timer(label: "lineage_job_duration_seconds", dimensions: [("kind", kind)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// State read from the store at scrape time, so the numbers are right whoever changed it
    /// (the CLI writes to the same store).
    func snapshot(_ state: StoreGauges) {
        CoreMetrics.Gauge(label: "lineage_mirrored_bytes", factory: factory).record(Double(state.mirroredBytes))
        CoreMetrics.Gauge(label: "lineage_mirrored_blobs", factory: factory).record(Double(state.blobs))
        CoreMetrics.Gauge(label: "lineage_mirrored_repos", factory: factory).record(Double(state.repos))
        CoreMetrics.Gauge(label: "lineage_verification_failures", factory: factory).record(Double(state.verificationFailures))
        CoreMetrics.Gauge(label: "lineage_rotten_blobs", factory: factory).record(Double(state.rottenBlobs))
        for (state, count) in state.jobs {
            CoreMetrics.Gauge(label: "lineage_queue_jobs", dimensions: [("state", state)], factory: factory).record(Double(count))
        }
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

struct StoreGauges: Sendable {
    var mirroredBytes: Int64 = 0
    var blobs = 0
    var repos = 0
    /// Quarantine records: every file that failed verification on the way in, or in a scrub.
    var verificationFailures = 0
    var rottenBlobs = 0
    var jobs: [(String, Int)] = []
}
