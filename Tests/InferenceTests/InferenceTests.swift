import Inference
import Testing

@Suite struct InferenceModuleTests {
    @Test func reexportsModel() {
        // Inference re-exports Model, so its users get the scorer without a second import.
        let m = LSTMAutoencoder(window: 3, sensors: 2, hidden: 4, seed: 1)
        #expect(m.layout.count == m.parameters.count)
    }
}
