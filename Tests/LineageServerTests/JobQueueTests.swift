import Foundation
import LineageTestSupport
import LineageServer
import Testing

@Suite struct JobQueueTests {
    func queue(lease: Duration = .seconds(60)) throws -> SQLiteJobQueue {
        let directory = TestSupport.scratchURL("lineage-jobs")
        return try SQLiteJobQueue(storeDirectory: directory, lease: lease, baseBackoff: .seconds(10), maxBackoff: .seconds(25))
    }

    @Test func oneOpenJobPerKindAndRepo() async throws {
        let queue = try queue()
        let first = try await queue.enqueue(.sync, repo: "a/b")
        #expect(try await queue.enqueue(.sync, repo: "a/b") == first)
        #expect(try await queue.enqueue(.sync, repo: "a/c") != first)
        #expect(try await queue.enqueue(.verify) != first)
        let claimed = try #require(try await queue.claim(owner: "h/1/0"))
        #expect(claimed.id == first && claimed.state == .running && claimed.leaseOwner == "h/1/0")
        // Running still counts as open.
        #expect(try await queue.enqueue(.sync, repo: "a/b") == first)
        try await queue.finish(first, owner: "h/1/0")
        #expect(try await queue.enqueue(.sync, repo: "a/b") != first)
        #expect(try await queue.lastSuccess(.sync, repo: "a/b") != nil)
    }

    @Test func aJobIsClaimedOnceUntilItsLeaseExpires() async throws {
        let queue = try queue(lease: .seconds(30))
        let id = try await queue.enqueue(.sync, repo: "a/b")
        let now = Date()
        #expect(try await queue.claim(owner: "h/1/0", now: now)?.id == id)
        #expect(try await queue.claim(owner: "h/1/1", now: now.addingTimeInterval(10)) == nil)
        #expect(try await queue.renew(id, owner: "h/1/0", now: now.addingTimeInterval(20)))
        #expect(try await queue.claim(owner: "h/1/1", now: now.addingTimeInterval(40)) == nil)
        // Not renewed: another worker takes it over, and the first one's renewals fail.
        let taken = try #require(try await queue.claim(owner: "h/1/1", now: now.addingTimeInterval(51)))
        #expect(taken.id == id && taken.leaseOwner == "h/1/1")
        #expect(try await queue.renew(id, owner: "h/1/0") == false)
    }

    @Test func failuresBackOffAndStopAfterTheLastAttempt() async throws {
        let queue = try queue()
        let id = try await queue.enqueue(.sync, repo: "a/b", maxAttempts: 3)
        var now = Date()
        _ = try await queue.claim(owner: "w", now: now)
        #expect(try await queue.fail(id, owner: "w", error: "upstream 503", now: now) == .queued)
        #expect(try await queue.claim(owner: "w", now: now.addingTimeInterval(9)) == nil)  // backoff 10 s
        now = now.addingTimeInterval(11)
        #expect(try await queue.claim(owner: "w", now: now)?.attempts == 1)
        #expect(try await queue.fail(id, owner: "w", error: "upstream 503", now: now) == .queued)
        #expect(try await queue.claim(owner: "w", now: now.addingTimeInterval(19)) == nil)  // backoff 20 s
        now = now.addingTimeInterval(21)
        _ = try #require(try await queue.claim(owner: "w", now: now))
        #expect(try await queue.fail(id, owner: "w", error: "digest mismatch", now: now) == .failed)
        let job = try #require(try await queue.jobs().first)
        #expect(job.state == .failed && job.attempts == 3 && job.lastError == "digest mismatch")
        #expect(try await queue.claim(owner: "w", now: now.addingTimeInterval(10_000)) == nil)
    }

    @Test func jobsOfADeadProcessAreRecoveredAtOnce() async throws {
        let queue = try queue()
        let dead = try await queue.enqueue(.sync, repo: "a/dead")
        let alive = try await queue.enqueue(.sync, repo: "a/alive")
        let elsewhere = try await queue.enqueue(.sync, repo: "a/elsewhere")
        _ = try await queue.claim(owner: "here/111/0")
        _ = try await queue.claim(owner: "here/222/0")
        _ = try await queue.claim(owner: "there/111/0")
        let recovered = try await queue.recover(host: "here", isAlive: { $0 == 222 })
        #expect(recovered.map(\.id) == [dead])
        let states = Dictionary(uniqueKeysWithValues: try await queue.jobs().map { ($0.id, $0.state) })
        #expect(states == [dead: .queued, alive: .running, elsewhere: .running])
        // Released without counting an attempt.
        try await queue.release(alive, owner: "here/222/0")
        #expect(try await queue.jobs().first { $0.id == alive }?.attempts == 0)
        #expect(try await queue.counts().first { $0.0 == "queued" }?.1 == 2)
    }
}
