"""networkx doing what lineage-graph-bench does, on the same TSV, for the side-by-side table.
Usage: graph_networkx.py FILE REPEAT [DOT] -> one JSON line of timings (seconds per repeat).

DOT is timed three ways: the document lineage writes, byte for byte, from the networkx graph
(kept in DOT, when given, for the benchmark to compare with lineage's); a plain loop writing
one line per node and edge (a simpler document: no groups, styles or second label line); and
networkx's own DOT writer, nx_pydot.write_dot, once (over a minute on a million nodes)."""
import json
import os
import re
import resource
import sys
import tempfile
import time

import networkx as nx

LARGEST_ROOT = "org0/model-0"
PYDOT = "export DOT with networkx's write_dot (pydot, 1 run)"
PLAIN_DOT = "export DOT, one plain line per node and edge"


def build(path):
    graph = nx.DiGraph()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            node, license_id, kind, relation, parents = line.rstrip("\n").split("\t")
            graph.add_node(node, name=node, kind=kind, license=license_id)
            if parents:
                for parent in parents.split(","):
                    graph.add_edge(parent, node, relation=relation, provenance="declared", confidence=1.0)
    return graph


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# lineage's DOT drawing (Sources/LineageGraph/Export/DOTExporter.swift, ExportFormat.swift).
KINDS = ["pretrained", "finetuned", "adapter", "merge", "quantized", "weight-delta", "dataset"]
SHAPES = {"pretrained": "box", "finetuned": "ellipse", "adapter": "component", "merge": "hexagon",
          "quantized": "cds", "weight-delta": "parallelogram", "dataset": "cylinder"}
FILLS = {"pretrained": "#dbe9f6", "finetuned": "#ffffff", "adapter": "#fdf2d0", "merge": "#e8dff5",
         "quantized": "#e3f4e1", "weight-delta": "#fbe3e3", "dataset": "#eeeeee"}
COLORS = {"finetune": "#333333", "instruct": "#1f77b4", "chat": "#2ca02c", "continued-pretrain": "#9467bd",
          "adapter": "#bcbd22", "merge": "#8c564b", "quantized": "#17becf", "distill": "#e377c2",
          "weight-delta": "#d62728", "reproduction": "#ff7f0e", "architecture": "#7f7f7f", "successor": "#000000",
          "trained-on": "#aaaaaa"}
STYLES = {"curated": "solid", "declared": "dashed", "weights": "bold", "inferred": "dotted"}
# `"` and `\` escaped, a newline as DOT's \n, other control characters as spaces.
DOT_ESCAPES = {code: " " for code in list(range(0x20)) + [0x7F]}
DOT_ESCAPES.update({ord("\\"): "\\\\", ord('"'): '\\"', 0x0A: "\\n"})
NEEDS_DOT_ESCAPE = re.compile('[\\x00-\\x1f"\\\\\\x7f]')


def write_lineage_dot(nodes, edges, path):
    """The DOT document lineage writes, byte for byte (the benchmark compares the files):
    nodes grouped by family cluster and kind, edges by relation and provenance style."""
    needs_escape = NEEDS_DOT_ESCAPE.search

    def escape(text):
        return text.translate(DOT_ESCAPES) if needs_escape(text) else text

    with open(path, "w", encoding="utf-8") as out:
        out.write("digraph lineage {\n"
                  '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, newrank=true];\n'
                  '  node [fontname="Helvetica", fontsize=10, style=filled];\n'
                  '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.7];\n')
        members, loose = {}, []
        for node, data in nodes:
            family = data.get("family")
            (members.setdefault(family, []) if family else loose).append((node, data))

        def write_nodes(group, indent):
            by_kind = {}
            for node, data in group:
                by_kind.setdefault(data["kind"], []).append((node, data))
            for kind in KINDS:
                if kind not in by_kind:
                    continue
                out.write(f'{indent}{{\n{indent}  node [shape={SHAPES[kind]}, fillcolor="{FILLS[kind]}"];\n')
                for node, data in by_kind[kind]:
                    label = escape(data.get("name", node))
                    if data.get("license") is not None:
                        label += "\\n" + escape(data["license"])
                    tooltip = f', tooltip="{escape(data["hub_ids"][0])}"' if data.get("hub_ids") else ""
                    out.write(f'{indent}  "{escape(node)}" [label="{label}"{tooltip}];\n')
                out.write(f"{indent}}}\n")

        for family in sorted(members):
            out.write(f'  subgraph "{escape("cluster_" + family)}" {{\n    label="{escape(family)}"; '
                      'style="rounded,filled"; fillcolor="#fafafa"; color="#bbbbbb";\n')
            write_nodes(members[family], "    ")
            out.write("  }\n")
        write_nodes(loose, "  ")
        labels = len(edges) <= 5000
        groups = {}
        for source, target, data in edges:
            groups.setdefault((data["relation"], data["provenance"]), []).append((source, target, data))
        for relation, provenance in sorted(groups):
            label = f', label="{escape(relation)}"' if labels else ""
            out.write(f'  {{\n    edge [color="{COLORS[relation]}", style={STYLES[provenance]}{label}];\n')
            for source, target, data in groups[(relation, provenance)]:
                evidence = data.get("evidence")
                tooltip = f' [tooltip="{escape(f"{relation} ({provenance}): {evidence}")}"]' if labels and evidence else ""
                out.write(f'    "{escape(source)}" -> "{escape(target)}"{tooltip};\n')
            out.write("  }\n")
        out.write("}\n")


def write_dot(graph, path):
    with open(path, "w", encoding="utf-8") as out:
        out.write("digraph lineage {\n")
        for node, data in graph.nodes(data=True):
            out.write(f"  {quote(node)} [label={quote(data.get('name', node))}];\n")
        for source, target, data in graph.edges(data=True):
            out.write(f"  {quote(source)} -> {quote(target)} [label={quote(data['relation'])}];\n")
        out.write("}\n")


def main():
    path, repeats = sys.argv[1], int(sys.argv[2])
    kept_dot = sys.argv[3] if len(sys.argv) > 3 else None
    seconds = {}
    cpu_seconds = {}
    facts = {}
    scratch_directory = tempfile.TemporaryDirectory(prefix="lineage-graph-bench-nx-")
    scratch = scratch_directory.name

    def timed(name, body):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = body()
        seconds.setdefault(name, []).append(time.perf_counter() - start)
        cpu_seconds.setdefault(name, []).append(time.process_time() - cpu_start)
        return result

    for _ in range(repeats):
        graph = timed("build in memory (parse + DAG)", lambda: build(path))
        facts["nodes"], facts["edges"] = graph.number_of_nodes(), graph.number_of_edges()
        reached = timed("descendants of the largest root", lambda: nx.descendants(graph, LARGEST_ROOT))
        facts["descendants"] = len(reached)
        json_path = os.path.join(scratch, "graph.json")

        def export_json():
            with open(json_path, "w", encoding="utf-8") as out:
                json.dump(nx.node_link_data(graph, edges="edges"), out)

        timed("export node-link JSON to a file", export_json)
        # lineage's graph comes out of its store in id order and its edges in (parent id,
        # child id) order; the networkx graph is put in the same order first, untimed.
        nodes = sorted(graph.nodes(data=True), key=lambda item: item[0].encode())
        edges = sorted(graph.edges(data=True), key=lambda item: (item[0].encode(), item[1].encode()))
        dot_path = kept_dot or os.path.join(scratch, "graph.dot")
        timed("export DOT to a file", lambda: write_lineage_dot(nodes, edges, dot_path))
        del nodes, edges
        timed(PLAIN_DOT, lambda: write_dot(graph, os.path.join(scratch, "plain.dot")))
        if not seconds.get(PYDOT):
            # pydot takes `name` for the node's own name; networkx passes node attributes
            # through, so the display name goes in as the label (what lineage's DOT does).
            for _, data in graph.nodes(data=True):
                data["label"] = data.pop("name")
            timed(PYDOT, lambda: nx.nx_pydot.write_dot(graph, os.path.join(scratch, "graph-pydot.dot")))
        del graph
    scratch_directory.cleanup()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "facts": facts, "peak_rss_mb": peak}, sort_keys=True))


if __name__ == "__main__":
    main()
