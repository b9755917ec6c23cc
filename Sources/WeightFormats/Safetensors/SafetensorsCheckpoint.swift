import Foundation

/// A Hugging Face checkpoint stored as one `model.safetensors` or as shards listed by
/// `model.safetensors.index.json` (`{"weight_map": {"tensor": "model-00001-of-00002.safetensors"}}`).
///
/// Every tensor named in the weight map must be in the shard it names. Tensors a shard holds
/// beyond the map are kept, because llama.cpp's converter reads every tensor of every shard; a
/// tensor found in two shards is an error.
public struct SafetensorsCheckpoint: Sendable {
    public static let indexFileName = "model.safetensors.index.json"
    public static let singleFileName = "model.safetensors"

    /// Shards in name order (one entry for a single-file checkpoint).
    public let files: [SafetensorsFile]
    /// Every tensor name, in shard order then data order.
    public let tensorNames: [String]
    private let location: [String: Int]

    /// Opens `directory/model.safetensors.index.json` when present, else
    /// `directory/model.safetensors`.
    public static func open(directory: URL) throws -> SafetensorsCheckpoint {
        let index = directory.appendingPathComponent(indexFileName)
        if FileManager.default.fileExists(atPath: index.path) {
            return try SafetensorsCheckpoint(indexURL: index)
        }
        let single = directory.appendingPathComponent(singleFileName)
        guard FileManager.default.fileExists(atPath: single.path) else {
            throw SafetensorsError(
                .io, file: directory.path,
                message: "neither \(indexFileName) nor \(singleFileName) is in this directory",
                hint: "point at a checkpoint directory with safetensors weights")
        }
        return try SafetensorsCheckpoint(files: [SafetensorsFile(contentsOf: single)])
    }

    /// A checkpoint made of the given files (e.g. one file).
    public init(files: [SafetensorsFile]) throws {
        try self.init(files: files, weightMap: nil, indexPath: nil)
    }

    /// Opens the shards a `model.safetensors.index.json` names, relative to its directory.
    public init(indexURL: URL) throws {
        let file = indexURL.path
        let data: Data
        do {
            data = try Data(contentsOf: indexURL)
        } catch {
            throw SafetensorsError(.io, file: file, message: "cannot read the index: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SafetensorsError(.invalidIndex, file: file, message: "index is not a JSON object",
                                   hint: "download the index again")
        }
        guard let map = object["weight_map"] as? [String: Any] else {
            throw SafetensorsError(.invalidIndex, file: file, message: "index has no 'weight_map' object",
                                   hint: "a sharded checkpoint index maps tensor names to shard files")
        }
        var weightMap: [String: String] = [:]
        for (tensor, shard) in map {
            guard let shard = shard as? String else {
                throw SafetensorsError(.invalidIndex, file: file, tensor: tensor, message: "weight_map value is not a file name")
            }
            // Shards must sit next to the index: no directories, no escaping it.
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != ".", shard != ".." else {
                throw SafetensorsError(.invalidIndex, file: file, tensor: tensor,
                                       message: "weight_map names '\(shard)', which is not a plain file name next to the index",
                                       hint: "refusing to follow paths out of the checkpoint directory")
            }
            weightMap[tensor] = shard
        }
        let directory = indexURL.deletingLastPathComponent()
        var files: [SafetensorsFile] = []
        for shard in Set(weightMap.values).sorted() {
            let url = directory.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw SafetensorsError(.io, file: url.path, message: "shard named by \(Self.indexFileName) is missing",
                                       hint: "download the missing shard")
            }
            files.append(try SafetensorsFile(contentsOf: url))
        }
        try self.init(files: files, weightMap: weightMap, indexPath: file)
    }

    private init(files: [SafetensorsFile], weightMap: [String: String]?, indexPath: String?) throws {
        self.files = files
        var location: [String: Int] = [:]
        var names: [String] = []
        for (i, f) in files.enumerated() {
            for t in f.tensors {
                if let other = location[t.name] {
                    throw SafetensorsError(
                        .shardMismatch, file: f.url.path, tensor: t.name,
                        message: "tensor also appears in \(files[other].url.lastPathComponent)",
                        hint: "the checkpoint is inconsistent; download it again")
                }
                location[t.name] = i
                names.append(t.name)
            }
        }
        if let weightMap, let indexPath {
            for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
                guard let i = location[tensor], files[i].url.lastPathComponent == shard else {
                    throw SafetensorsError(
                        .shardMismatch, file: indexPath, tensor: tensor,
                        message: "weight_map puts the tensor in \(shard) but that shard does not hold it",
                        hint: "the index and the shards disagree; download the checkpoint again")
                }
            }
        }
        self.tensorNames = names
        self.location = location
    }

    /// The file holding `name` and the tensor's info, or nil.
    public func locate(_ name: String) -> (file: SafetensorsFile, tensor: SafetensorsTensorInfo)? {
        guard let i = location[name], let t = files[i].tensor(named: name) else { return nil }
        return (files[i], t)
    }
}
