"""networkx doing what lineage-graph-bench does, on the same TSV, for the side-by-side table.
Usage: graph_networkx.py FILE REPEAT -> one JSON line of timings (seconds per repeat).

DOT is timed two ways: a plain loop writing one line per node and edge (less than lineage
writes: no groups, styles or second label line), every round; and networkx's own DOT writer,
nx_pydot.write_dot, once (it takes over a minute on a million nodes)."""
import json
import os
import resource
import sys
import tempfile
import time

import networkx as nx

LARGEST_ROOT = "org0/model-0"
PYDOT = "export DOT with networkx's write_dot (pydot, 1 run)"


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
        timed("export DOT to a file", lambda: write_dot(graph, os.path.join(scratch, "graph.dot")))
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
