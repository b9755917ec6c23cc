import LineageGraph
import Testing

@Suite struct LicenseCheckTests {
    @Test func apacheFineTuneOfLlama2IsAConflict() throws {
        let graph = try sampleGraph()
        let findings = graph.licenseFindings(for: graph.at("apache-tune"))
        #expect(findings.count == 1)
        let finding = try #require(findings.first)
        #expect(finding.severity == .conflict)
        #expect(finding.ancestor == "llama-2-7b")
        #expect(finding.message == "apache-tune declares apache-2.0 but derives from llama-2-7b (llama2), whose terms bind derivatives")
    }

    @Test func sameLicenseAndNewWeightsAreFine() throws {
        let graph = try sampleGraph()
        #expect(graph.licenseFindings(for: graph.at("taiwan-llama")).isEmpty)
        // A reproduction retrains from scratch: LLaMA's non-commercial terms do not bind it.
        #expect(graph.licenseFindings(for: graph.at("openllama-7b")).isEmpty)
        // llama-2-7b is LLaMA's successor, not its fine-tune.
        #expect(graph.licenseFindings(for: graph.at("llama-2-7b")).isEmpty)
    }

    @Test func theCheckWalksThroughMergesToEveryBase() throws {
        let graph = try sampleGraph()
        // merged (llama2) <- apache-tune (apache-2.0) <- llama-2-7b (llama2): fine for merged itself
        #expect(graph.licenseFindings(for: graph.at("merged")).isEmpty)
        let all = graph.licenseFindings()
        #expect(all.map(\.node).contains("apache-tune"))
    }

    @Test func commercialLicenseOnANonCommercialBaseIsAConflict() throws {
        let graph = try LineageGraph(
            nodes: [LineageNode(id: "base", license: "llama-1-noncommercial"), LineageNode(id: "tune", license: "llama2"),
                    LineageNode(id: "data", kind: .dataset, license: "cc-by-nc-4.0"), LineageNode(id: "other", license: "mit")],
            edges: [LineageEdge(parent: "base", child: "tune", relation: .finetune, provenance: .curated),
                    LineageEdge(parent: "data", child: "other", relation: .trainedOn, provenance: .curated)])
        let tune = graph.licenseFindings(for: graph.at("tune"))
        #expect(tune.map(\.severity) == [.conflict])
        #expect(tune.first?.message.contains("allows commercial use") == true)
        // Data licenses give warnings, not conflicts.
        #expect(graph.licenseFindings(for: graph.at("other")).map(\.severity) == [.warning])
    }
}
