"""The Dask recipe: TLS from Dask's configuration, no silent plain TCP to another machine, one line when unreachable."""
import dask
import distributed
import pytest

from madlib.cli import main as cli_main
from madlib.core.sweep import connect_dask, dask_security


def test_an_unreachable_scheduler_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("MADLIB_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # the discard port: nothing listens
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = cli_main(["run", "gaussian-sweep", "--no-cache"])
    out = capsys.readouterr()
    assert code == 2 and out.out == "" and out.err.count("\n") == 1, out.err
    assert out.err.startswith("madlib: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")


def test_tls_comes_from_daskconfig_and_a_tls_address_needs_it(monkeypatch, tmp_path):
    monkeypatch.setenv("MADLIB_DASK_SCHEDULER", "tls://scheduler.example:8786")
    with pytest.raises(ValueError, match="TLS address but no TLS files"):
        connect_dask()
    assert dask_security() is None
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    seen = {}

    def fake_client(address, **kwargs):
        seen.update(kwargs, address=address)
        return "client"

    monkeypatch.setattr(distributed, "Client", fake_client)
    with dask.config.set({"distributed.comm.tls.ca-file": str(files["ca"]),
                          "distributed.comm.tls.client.cert": str(files["cert"]),
                          "distributed.comm.tls.client.key": str(files["key"])}):
        assert connect_dask() == "client"
    security = seen["security"]
    assert seen["address"] == "tls://scheduler.example:8786"
    assert security.tls_ca_file == str(files["ca"]) and security.tls_client_cert == str(files["cert"])
    assert security.tls_client_key == str(files["key"])


def test_plain_tcp_to_another_machine_is_warned_about(monkeypatch):
    monkeypatch.setattr(distributed, "Client", lambda address, **kwargs: "client")
    with pytest.warns(UserWarning, match="plain TCP: anyone who can reach it runs code"):
        connect_dask("tcp://10.1.2.3:8786")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        connect_dask("tcp://localhost:8786")  # an SSH tunnel's end: no warning
