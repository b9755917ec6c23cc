import GGUF
import ModelMirror

/// Lets the GGUF writer stream into a staged store write: the bytes are hashed as they pass
/// and land in `<store>/staging/`, so a quantization reaches the store by the same
/// digest + fsync + rename path as a mirrored file, and is never visible half-written.
final class StagedGGUFSink: GGUFByteSink {
    let transfer: StagedTransfer

    init(_ transfer: StagedTransfer) { self.transfer = transfer }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try transfer.append(bytes)
    }
}
