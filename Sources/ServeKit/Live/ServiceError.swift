/// A request the server's services refuse, with a stable, machine-readable code. The services
/// know nothing of HTTP: the API layer maps each code to a status (``APIError/init(_:)``) and
/// a socket reply carries the code as it is.
struct ServiceError: Error, Equatable, CustomStringConvertible {
    /// The reason, as clients see it in `error.code`. The raw values never change.
    enum Code: String, Sendable, CaseIterable {
        /// Malformed or invalid input.
        case badRequest = "bad_request"
        case tooManySamples = "too_many_samples"
        case tooManyRows = "too_many_rows"
        case tooManySensors = "too_many_sensors"
        case wrongRowLength = "wrong_row_length"
        case noValueYet = "no_value_yet"
        case unknownSensor = "unknown_sensor"
        case invalidModel = "invalid_model"
        case unknownStream = "unknown_stream"
        case unknownModel = "unknown_model"
        case unknownEvent = "unknown_event"
        case timestampBackwards = "timestamp_backwards"
        case invalidCycleEvent = "invalid_cycle_event"
        case invalidEventTransition = "invalid_event_transition"
        case sensorMismatch = "sensor_mismatch"
        case nothingToRollBack = "nothing_to_roll_back"
        case unknownToken = "unknown_token"
        /// Revoking it would leave no admin token.
        case lastAdminToken = "last_admin_token"
        /// Scoring is behind: the client keeps its data and retries after ``retryAfter`` seconds.
        case busy
        /// In a cluster: another server owns the stream (or none does for a moment, while its
        /// lease moves); retry after ``retryAfter`` seconds.
        case notOwner = "not_owner"
        /// The child process that reads model files cannot run.
        case modelReaderUnavailable = "model_reader_unavailable"
        /// A file the server must write (the first admin token) cannot be written.
        case cannotWrite = "cannot_write"
    }

    let code: Code
    let message: String
    /// Seconds after which a retry may succeed (``Code/busy``, ``Code/notOwner``).
    var retryAfter: Int?
    /// ``Code/notOwner``: where the stream's owner is reached, when one is known.
    var ownerAddress: String?

    init(_ code: Code, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    static func badRequest(_ message: String) -> ServiceError { ServiceError(.badRequest, message) }

    var description: String { "\(code.rawValue): \(message)" }
}
