import Foundation
import LineageImport
import ModelConversion

/// The `general.*` keys of a GGUF made from a checkpoint folder: what the caller says first,
/// then the README's front matter, then the repo id the folder's Hugging Face cache path
/// names. One rule for `lineage quantize DIR|REPO` and for quantize on ingest, so the same
/// files give the same bytes either way.
public enum QuantizationProvenance {
    public static func metadata(
        directory: URL, name: String? = nil, baseModels: [String] = [], sourceRepo: String? = nil
    ) throws -> LineageMetadata {
        let repoID = ModelDirectoryImporter.defaultID(for: directory)
        var card: ModelCard?
        let readme = directory.appendingPathComponent("README.md")
        if let data = FileManager.default.contents(atPath: readme.path), let text = String(data: data, encoding: .utf8) {
            card = try ModelCard.parse(text, file: readme.path)
        }
        let bases = baseModels.isEmpty ? (card?.baseModels.map(\.0) ?? []) : baseModels
        var source: String?
        if let sourceRepo {
            source = sourceRepo.contains("://") ? sourceRepo : "https://huggingface.co/\(sourceRepo)"
        } else if repoID.contains("/") {
            source = "https://huggingface.co/\(repoID)"
        }
        return LineageMetadata(
            name: name ?? card?.modelName ?? repoID, license: card?.license, sourceRepoURL: source,
            baseModels: bases.map { LineageMetadata.BaseModel(huggingFaceID: $0) })
    }
}
