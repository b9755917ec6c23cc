import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// Streams a byte range of a stored blob: one 256 KiB read at a time on NIO's blocking thread
/// pool, each written (and so waited on: the channel's writability is the backpressure)
/// before the next read. Memory per download is one chunk, whatever the file's size and
/// however slow the client.
enum BlobBody {
    static let chunk = 256 * 1024

    static func stream(path: String, range: ClosedRange<Int64>, threadPool: NIOThreadPool = .singleton) -> ResponseBody {
        let length = Int(range.upperBound - range.lowerBound + 1)
        return ResponseBody(contentLength: length) { writer in
            let handle = try await threadPool.runIfActive { try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
            defer { try? handle.close() }
            var offset = UInt64(range.lowerBound)
            var remaining = length
            while remaining > 0 {
                let want = min(chunk, remaining)
                let at = offset
                let data = try await threadPool.runIfActive { () -> Data in
                    try handle.seek(toOffset: at)
                    return try handle.read(upToCount: want) ?? Data()
                }
                guard !data.isEmpty else {
                    throw HubError(status: .internalServerError, code: nil, message: "\(path) ended \(remaining) bytes early")
                }
                try await writer.write(ByteBuffer(bytes: data))
                offset += UInt64(data.count)
                remaining -= data.count
            }
            try await writer.finish(nil)
        }
    }
}
