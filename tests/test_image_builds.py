"""Image builds across processes: two dgm processes that need the same missing image build it once."""

from __future__ import annotations

import subprocess
import sys
import uuid

BUILD = """
import sys
from sandbox.image import build_image
print(build_image("dgm-test-concurrent", "FROM " + sys.argv[1] + "\\nCOPY marker /marker\\n",
                  {"marker": sys.argv[2].encode()}, log=lambda line: print("log:", line)))
"""


def test_two_processes_needing_the_same_image_build_it_once(sandbox_image):
    import docker

    marker = uuid.uuid4().hex  # a new input: no process has built this image before
    builders = [subprocess.Popen([sys.executable, "-c", BUILD, sandbox_image, marker], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [b.communicate(timeout=300) for b in builders]
    assert all(b.returncode == 0 for b in builders), outputs
    tags = {out.splitlines()[-1] for out, _ in outputs}
    assert len(tags) == 1, outputs
    assert sum(out.count("log: building ") for out, _ in outputs) == 1, outputs  # the other waited, then found it
    docker.from_env().images.remove(tags.pop(), force=True)
