/// Which node owns which stream: rendezvous (highest-random-weight) hashing. Every node computes
/// the same answer from the same list of nodes; adding a node moves only the streams it wins
/// (about 1/N), and removing one moves only the streams it had (`docs/scale-out.md`).
enum Rendezvous {
    /// The node among `nodes` that owns `stream` (nil when there is none).
    static func owner(of stream: String, among nodes: some Sequence<String>) -> String? {
        nodes.max { (weight(stream, $0), $0) < (weight(stream, $1), $1) }
    }

    /// A 64-bit weight of a (stream, node) pair: FNV-1a over both names, then a finaliser
    /// (splitmix64's) so that nearby names spread over the whole range. Stable across runs,
    /// machines and versions — every server must compute the same value.
    static func weight(_ stream: String, _ node: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stream.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        h = (h ^ 0xff) &* 0x0000_0100_0000_01b3
        for byte in node.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}
