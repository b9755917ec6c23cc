"""Loads lineage's node-link JSON and GraphML exports with networkx and checks that both
describe the same graph. Prints `nodes=N edges=M` and exits 0, or prints what differs and
exits 1. Usage: check_networkx.py EXPORT.json EXPORT.graphml"""
import json
import sys

import networkx as nx


def main() -> int:
    json_path, graphml_path = sys.argv[1], sys.argv[2]
    with open(json_path, encoding="utf-8") as handle:
        from_json = nx.node_link_graph(json.load(handle), edges="edges")
    from_graphml = nx.read_graphml(graphml_path)
    problems = []
    if not from_json.is_directed() or not from_graphml.is_directed():
        problems.append("a graph is not directed")
    if set(from_json.nodes) != set(from_graphml.nodes):
        problems.append(f"nodes differ: {sorted(set(from_json.nodes) ^ set(from_graphml.nodes))[:10]}")
    if set(from_json.edges) != set(from_graphml.edges):
        problems.append(f"edges differ: {sorted(set(from_json.edges) ^ set(from_graphml.edges))[:10]}")
    for node in from_json.nodes:
        for key in ("name", "kind", "family", "license"):
            if from_json.nodes[node].get(key) != from_graphml.nodes.get(node, {}).get(key):
                problems.append(f"node {node!r} {key}: {from_json.nodes[node].get(key)!r} != {from_graphml.nodes.get(node, {}).get(key)!r}")
    for source, target in from_json.edges:
        for key in ("relation", "provenance", "confidence"):
            left = from_json.edges[source, target].get(key)
            right = from_graphml.edges.get((source, target), {}).get(key)
            if left != right:
                problems.append(f"edge {source!r}->{target!r} {key}: {left!r} != {right!r}")
    if not nx.is_directed_acyclic_graph(from_json):
        problems.append("the JSON graph has a cycle")
    if problems:
        print("\n".join(problems[:20]))
        return 1
    print(f"nodes={from_json.number_of_nodes()} edges={from_json.number_of_edges()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
