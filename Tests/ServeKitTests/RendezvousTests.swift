import Foundation
import Testing
@testable import ServeKit

@Suite struct RendezvousTests {
    static let streams = (0..<3_000).map { _ in UUID().uuidString.lowercased() }

    @Test func everyNodeComputesTheSameOwnerWhateverTheOrder() {
        let nodes = ["a", "b", "c", "d"]
        for s in Self.streams.prefix(200) {
            let owner = Rendezvous.owner(of: s, among: nodes)
            #expect(owner != nil)
            #expect(Rendezvous.owner(of: s, among: nodes.reversed()) == owner)
            #expect(Rendezvous.owner(of: s, among: nodes.shuffled()) == owner)
        }
        #expect(Rendezvous.owner(of: "s", among: [String]()) == nil)
        // Pinned: a change of the hash would split a cluster of servers of two versions. The value
        // was computed by an independent Python implementation of the same definition.
        #expect(Rendezvous.weight("stream", "node") == 0x2200_e98a_84f7_1949)
        // The separator keeps ("s1", "n") and ("s", "1n") apart.
        #expect(Rendezvous.weight("s1", "n") != Rendezvous.weight("s", "1n"))
    }

    @Test func streamsSpreadEvenlyAndAJoiningNodeTakesOnlyItsShare() {
        let three = ["n1", "n2", "n3"], four = three + ["n4"]
        var before: [String: String] = [:], count: [String: Int] = [:]
        for s in Self.streams {
            before[s] = Rendezvous.owner(of: s, among: three)!
            count[before[s]!, default: 0] += 1
        }
        // 3,000 streams over 3 nodes: 1,000 each, within a few standard deviations (≈ 26).
        #expect(count.values.allSatisfy { abs($0 - 1_000) < 120 }, "\(count)")
        var moved = 0
        for s in Self.streams {
            let after = Rendezvous.owner(of: s, among: four)!
            if after != before[s] {
                moved += 1
                #expect(after == "n4") // a stream that moves goes to the new node, never between old ones
            }
        }
        #expect(abs(moved - 750) < 120, "moved \(moved) of 3,000; a quarter expected")
        // A node leaves: only its streams move.
        for s in Self.streams where before[s] != "n2" {
            #expect(Rendezvous.owner(of: s, among: ["n1", "n3"]) == before[s])
        }
    }
}
