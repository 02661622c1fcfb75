"""Build hook: the wheel carries the repository's configs/ and experiments/ inside the package
(sim/configs, sim/experiments), so that an installed copy runs from any folder. The folders
stay where they are in the repository; everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA = ("configs", "experiments")  # read at run time by sim/resources.py


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's folders directly
        for name in DATA:
            target = Path(self.build_lib) / "sim" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(HERE / name, target, symlinks=False,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        for name in DATA:
            outputs += [str(Path(self.build_lib) / "sim" / name / p.relative_to(HERE / name))
                        for p in (HERE / name).rglob("*") if p.is_file()]
        return outputs


setup(cmdclass={"build_py": BuildPyWithData})
