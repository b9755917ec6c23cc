import Foundation

/// The `Graph/` catalog as it was when this binary was built (see Plugins/EmbedCatalog).
public enum EmbeddedCatalog {
    /// Every catalog file, sorted by name: the file name and its UTF-8 text.
    public static var files: [(name: String, text: String)] {
        encodedFiles.map { file in
            (file.name, String(decoding: Data(base64Encoded: file.base64) ?? Data(), as: UTF8.self))
        }
    }
}
