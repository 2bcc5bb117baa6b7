"""A run: its configuration (`config`), lanes (`lanes`), plan (`plan`), budget, the transport, one case end to end
(`execute`), the job flows (`job_flow`), the phases (`phases`), the loop over them (`runner`), what it found
(`results`) and the verdict (`verdict`)."""
