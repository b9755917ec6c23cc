import Foundation
import LineageGraph

/// The page at `/`: the lineage tree as Graphviz SVG, inline so that the models' nodes can be
/// searched and highlighted in place, and a table of every model with what the mirror holds
/// of it. Self-contained (no scripts or styles from elsewhere): the daemon runs offline.
enum ViewerPage {
    static func html(graph: LineageGraph, svg: [UInt8], state: MirrorState, query: String) -> String {
        var svgText = String(decoding: svg, as: UTF8.self)
        // Inline SVG starts at its <svg> element: the XML prolog and DOCTYPE belong to files only.
        if let start = svgText.range(of: "<svg") { svgText = String(svgText[start.lowerBound...]) }
        var rows = ""
        for node in graph.nodes.sorted(by: { $0.id < $1.id }) {
            let repos = state.repos(for: node)
            var mirror = "<td class=\"none\">not mirrored</td>"
            if !repos.isEmpty {
                mirror = "<td>" + repos.map { repo in
                    let revisions = repo.revisions.map { revision in
                        let refs = revision.refs.isEmpty ? "" : " (\(revision.refs.joined(separator: ", ")))"
                        let verified = revision.verifiedAt.map { "verified \(Self.date($0))" } ?? "not verified"
                        return "<li><code>\(revision.commit.prefix(12))</code>\(escape(refs)), \(revision.files) files, \(Self.bytes(revision.bytes)), \(verified)</li>"
                    }.joined()
                    let quantizations = repo.quantizations.map { q in
                        "<li>\(escape(q.preset)) of <code>\(q.sourceCommit.prefix(12))</code>: \(escape(q.repo.map { "\($0)/\(q.file ?? "")" } ?? "not published")), \(Self.bytes(q.size))</li>"
                    }.joined()
                    return "<div class=\"repo\"><b>\(escape(repo.id))</b> [\(repo.source)]<ul>\(revisions.isEmpty ? "<li>no published revision yet</li>" : revisions)</ul>"
                        + (quantizations.isEmpty ? "" : "quantized:<ul>\(quantizations)</ul>") + "</div>"
                }.joined() + "</td>"
            }
            let familyName = graph.families.first { $0.id == node.family }?.name ?? ""
            let search = searchText(([node.id, node.name] + node.hubIDs + [node.family ?? "", familyName, node.organization ?? ""]).joined(separator: " "))
            rows += """
                <tr class="model" data-id="\(escape(node.id))" data-search="\(escape(search))">\
                <td><a href="/api/lineage/graph.svg?model=\(escape(Self.queryEncode(node.id)))">\(escape(node.name))</a><br><small>\(escape(node.id))</small></td>\
                <td>\(escape(node.family ?? ""))</td><td>\(escape(node.license ?? ""))</td>\(mirror)</tr>

                """
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>lineage: model family tree and mirror</title>
            <style>
            body{font-family:Helvetica,Arial,sans-serif;margin:1em 2em;color:#222}
            #search{font-size:1.1em;padding:.3em;width:24em}
            #figure{overflow:auto;border:1px solid #ddd;max-height:70vh;margin:1em 0}
            #figure svg g.node.match polygon,#figure svg g.node.match ellipse,#figure svg g.node.match path{stroke:#d00;stroke-width:3}
            #figure svg g.node.dim{opacity:.25}
            table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.3em .6em;vertical-align:top;text-align:left}
            td.none{color:#999}ul{margin:.2em 0;padding-left:1.2em}tr.hidden{display:none}
            </style></head>
            <body>
            <h1>Model lineage</h1>
            <p><input id="search" type="search" placeholder="Search models (name, Hub id, family)" value="\(escape(query))" autofocus>
            <span id="count"></span>
            · <a href="/api/lineage/graph.json">JSON</a> · <a href="/api/lineage/graph.dot">DOT</a> · <a href="/api/lineage/graph.svg">SVG</a></p>
            <div id="figure">\(svgText)</div>
            <h2>Models and their mirror state</h2>
            <table id="models"><thead><tr><th>Model</th><th>Family</th><th>License</th><th>Mirror</th></tr></thead><tbody>
            \(rows)</tbody></table>
            <script>
            (function () {
              const box = document.getElementById('search');
              const count = document.getElementById('count');
              const rows = Array.from(document.querySelectorAll('tr.model'));
              const nodes = Array.from(document.querySelectorAll('#figure svg g.node'));
              function apply() {
                // Normalized as the server normalizes data-search: "Taiwan Llama" finds "Taiwan-LLaMa".
                const q = box.value.toLowerCase().replace(/[^\\p{L}\\p{N}]+/gu, ' ').trim();
                const hits = new Set();
                for (const row of rows) {
                  const hit = q === '' || row.dataset.search.includes(q);
                  row.classList.toggle('hidden', !hit);
                  if (hit && q !== '') hits.add(row.dataset.id);
                }
                for (const node of nodes) {
                  const title = node.querySelector('title');
                  const id = title ? title.textContent : '';
                  node.classList.toggle('match', hits.has(id));
                  node.classList.toggle('dim', q !== '' && !hits.has(id));
                }
                count.textContent = q === '' ? rows.length + ' models' : hits.size + ' found';
                const first = nodes.find(n => n.classList.contains('match'));
                if (first && first.scrollIntoView) first.scrollIntoView({block: 'center', inline: 'center'});
              }
              box.addEventListener('input', apply);
              apply();
            })();
            </script>
            </body></html>

            """
    }

    static func modelsJSON(_ graph: LineageGraph, state: MirrorState) -> JSONValue {
        .array(graph.nodes.map { node in
            .object([
                ("id", .string(node.id)), ("name", .string(node.name)), ("family", node.family.map(JSONValue.string) ?? .null),
                ("hub_ids", .array(node.hubIDs.map(JSONValue.string))),
                ("mirror", .array(state.repos(for: node).map { repo in
                    .object([("repo", .string(repo.id)), ("source", .string(repo.source)),
                             ("revisions", .array(repo.revisions.map { revision in
                                 .object([("commit", .string(revision.commit)), ("refs", .array(revision.refs.map(JSONValue.string))),
                                          ("synced_at", .string(date(revision.syncedAt))),
                                          ("verified_at", revision.verifiedAt.map { .string(date($0)) } ?? .null),
                                          ("files", .int(Int64(revision.files))), ("bytes", .int(revision.bytes))])
                             })),
                             ("quantizations", .array(repo.quantizations.map { q in
                                 .object([("preset", .string(q.preset)), ("source_commit", .string(q.sourceCommit)),
                                          ("sha256", .string(q.sha256)), ("bytes", .int(q.size)),
                                          ("repo", q.repo.map(JSONValue.string) ?? .null), ("file", q.file.map(JSONValue.string) ?? .null)])
                             }))])
                })),
            ])
        })
    }

    /// Lower case, every run of characters that are not letters or digits one space: what a
    /// search compares, so that separators and case never decide a match.
    static func searchText(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                if pendingSpace && !out.isEmpty { out.append(" ") }
                pendingSpace = false
                out.append(character)
            } else {
                pendingSpace = true
            }
        }
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func queryEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    static func date(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
