/// How often and how patiently a transfer is tried again after a fault it may recover from
/// (connection reset, truncated body, 5xx, 429, 416).
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in a row that may fail without moving the transfer forward.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Exponential backoff with full jitter: spreads the retries of many transfers that
    /// failed together (a restarted upstream) instead of hitting it again in one burst.
    func delay(afterFailure failure: Int) -> Duration {
        let exponent = min(failure - 1, 16)
        let ceiling = min(baseDelay * (1 << exponent), maxDelay)
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: (nanos / 2)...nanos))
    }
}
