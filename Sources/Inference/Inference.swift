// The Inference library builds on Model: windows, the batched scorer, DTW, the cycle and
// sensor state machines and the maintenance-event policy. It does no I/O and reads no clock.
@_exported import Model
