import Communication

/// A timed rank's figures in its run's records.
extension TimedCommunicator {
    /// `summary` with this rank's split: `communication_seconds`, the rest of
    /// its wall time as `compute_seconds`, and the bytes as `wire_bytes_*`.
    public func annotate(_ summary: RunSummary) -> RunSummary {
        var s = summary
        s.communicationSeconds = communicationSeconds
        s.computeSeconds = summary.wallSeconds - communicationSeconds
        s.wireBytesSent = bytesSent
        s.wireBytesReceived = bytesReceived
        return s
    }

    /// `record` with the communication time and bytes so far as extra keys
    /// of its log line (`communication_seconds`, `wire_bytes_sent`).
    public func annotate(_ record: StepRecord) -> StepRecord {
        var r = record
        r.metrics["communication_seconds"] = communicationSeconds
        r.metrics["wire_bytes_sent"] = Double(bytesSent)
        return r
    }
}
