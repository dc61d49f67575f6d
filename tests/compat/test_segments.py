"""Records spread over many journal segments read back whole and in order through boto3.
Finished segments and their index files are read through memory mappings, the segment
being written with `pread`: a catch-up from TRIM_HORIZON crosses both, and so do iterators
that start inside a finished segment (a binary search of its index file), before and after
a restart."""

from __future__ import annotations

from harness import SpateServer, client, make_stream, read_shard

SHARD = "shardId-000000000000"


def records_in(kinesis, name: str, **position) -> list[tuple[bytes, str, str]]:
    return [(r["Data"], r["PartitionKey"], r["SequenceNumber"])
            for r in read_shard(kinesis, name, SHARD, **position)]


def test_reads_cross_finished_and_active_segments(tmp_path):
    data_dir = tmp_path / "data"
    args = ("--segment-bytes", str(256 * 1024))
    with SpateServer(*args, data_dir=data_dir, name="segments") as srv:
        k = client(srv.endpoint)
        name = make_stream(k, "segments")
        sent: list[tuple[bytes, str]] = []
        for batch in range(8):  # about 2 MiB: seven finished segments and an active one
            chunk = [(f"{batch}-{i}-".encode() * 100, f"k{batch}-{i}") for i in range(400)]
            reply = k.put_records(StreamName=name, Records=[
                {"Data": data, "PartitionKey": key} for data, key in chunk])
            assert reply.get("FailedRecordCount", 0) == 0
            sent += chunk
        got = records_in(k, name)
        assert [(data, key) for data, key, _ in got] == sent
        sequences = [seq for _, _, seq in got]
    assert len(list((data_dir / "log" / "index").glob("*.idx"))) >= 5

    with SpateServer(*args, data_dir=data_dir, name="segments-again") as srv:
        k = client(srv.endpoint)
        got = records_in(k, name)
        assert [(data, key) for data, key, _ in got] == sent
        assert [seq for _, _, seq in got] == sequences
        for at in (1, 777, 1600, 3199):
            tail = records_in(k, name, iterator_type="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber=sequences[at])
            assert [seq for _, _, seq in tail] == sequences[at:]
            after = records_in(k, name, iterator_type="AFTER_SEQUENCE_NUMBER",
                               StartingSequenceNumber=sequences[at])
            assert [seq for _, _, seq in after] == sequences[at + 1:]
