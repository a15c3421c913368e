import Testing
@testable import EdgeKit

@Suite struct PrometheusTextTests {
    static let before = PrometheusText("""
        # TYPE vertac_batch_ack_seconds histogram
        vertac_batch_ack_seconds_bucket{le="0.001"} 10
        vertac_batch_ack_seconds_bucket{le="0.005"} 10
        vertac_batch_ack_seconds_bucket{le="0.01"} 10
        vertac_batch_ack_seconds_bucket{le="+Inf"} 10
        vertac_batch_ack_seconds_sum 0.005
        vertac_batch_ack_seconds_count 10
        vertac_windows_scored_total 100
        """)
    static let after = PrometheusText("""
        vertac_batch_ack_seconds_bucket{le="0.001"} 30
        vertac_batch_ack_seconds_bucket{le="0.005"} 90
        vertac_batch_ack_seconds_bucket{le="0.01"} 109
        vertac_batch_ack_seconds_bucket{le="+Inf"} 110
        vertac_windows_scored_total 1100
        """)

    /// 100 observations between the scrapes: 20 ≤ 1 ms, 60 in (1, 5] ms, 19 in (5, 10] ms, 1 above.
    @Test func quantilesOfWhatWasRecordedBetweenTwoScrapes() throws {
        let d = PrometheusText.difference("vertac_batch_ack_seconds", before: Self.before, after: Self.after)
        #expect(d.map(\.count) == [20, 80, 99, 100])
        // p50: rank 50 lies 30 of 60 into (1, 5] ms → 3 ms.
        #expect(abs(try #require(PrometheusText.quantile(0.5, d)) - 0.003) < 1e-12)
        // p10: rank 10 is half of the first bucket → 0.5 ms.
        #expect(abs(try #require(PrometheusText.quantile(0.1, d)) - 0.0005) < 1e-12)
        // p99: rank 99 is the top of (5, 10] ms.
        #expect(abs(try #require(PrometheusText.quantile(0.99, d)) - 0.01) < 1e-12)
        // p999 falls in +Inf: the largest finite bound.
        #expect(PrometheusText.quantile(0.999, d) == 0.01)
        #expect(Self.after.value("vertac_windows_scored_total")! - Self.before.value("vertac_windows_scored_total")! == 1000)
        #expect(PrometheusText.quantile(0.5, PrometheusText.difference("vertac_batch_ack_seconds", before: Self.after, after: Self.after)) == nil)
    }
}
