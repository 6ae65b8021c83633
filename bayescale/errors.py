"""Every error and warning a user of bayescale can meet, each a subclass of one package error.

``except bs.BayescaleError`` catches them all; each is also the standard exception of its kind (``ValueError``
for bad input, ``FileNotFoundError`` and ``FileExistsError`` for files), so code written against the standard
exceptions keeps working.
"""


class BayescaleError(Exception):
    """The base of every bayescale error."""


class ArgumentError(BayescaleError, ValueError):
    """An argument that a function cannot use (an interval probability of 90, an unknown sampler setting)."""


class DataError(BayescaleError, ValueError):
    """Run data that cannot be fitted as given: a missing column, a value outside its domain."""


class DatasetError(DataError):
    """A public data set that is unknown, or whose files are missing from the data directory and cannot be fetched."""


class LawError(BayescaleError, ValueError):
    """A law specification that is missing fields, has unknown keys or is inconsistent."""


class FormulaError(LawError):
    """A formula that cannot be parsed or names unknown symbols."""


class UntrustedCodeError(LawError):
    """A law file or saved fit that names Python code, read without ``trust_python=True``."""


class ModelError(BayescaleError, ValueError):
    """A model that cannot be built from the law and options given (bad pooling, likelihood, priors)."""


class FitFileError(BayescaleError, ValueError):
    """A file that is not a readable bayescale fit."""


class ComparisonError(BayescaleError, ValueError):
    """Fits that cannot be compared (too few, different data, no log likelihood)."""


class PlanError(BayescaleError, ValueError):
    """A compute plan that cannot be made (a law not in N and D, a budget outside the law's domain)."""


class MissingFileError(BayescaleError, FileNotFoundError):
    """A file or directory that should exist and does not (a fit file, a data directory)."""


class MissingDependencyError(BayescaleError, ImportError):
    """An optional dependency that is not installed; the message names the extra that brings it (``pip install 'bayescale[logs]'``)."""


class OverwriteError(BayescaleError, FileExistsError):
    """A file that exists and would be replaced; nothing is overwritten unless asked (``overwrite=True``)."""


class OutputError(BayescaleError, OSError):
    """A file that cannot be written where asked (a folder in its place, no permission, a full disk), or an experiment
    tracker that cannot be reached or refuses a fit (its URI named)."""


class ExecutorError(BayescaleError, RuntimeError):
    """An executor that cannot run the tasks: an unreachable scheduler, a worker without bayescale."""


class TaskError(BayescaleError, RuntimeError):
    """A task of many (one refit, one sweep fit) that raised; its message names it (law, study, fold) and the cause."""

    def __init__(self, name: str, cause: BaseException):
        super().__init__(f"{name}: {type(cause).__name__}: {cause}")
        self.name, self.cause = name, cause

    def __reduce__(self):  # rebuilt from its arguments when it crosses processes
        return type(self), (self.name, self.cause)


class BayescaleWarning(UserWarning):
    """The base of every bayescale warning."""


class SamplingWarning(BayescaleWarning):
    """A fit whose draws should not be trusted as they are."""


class DataWarning(BayescaleWarning):
    """Points left out while reading data (non-finite values, duplicate steps of a resumed run), with their counts."""


class ExtrapolationWarning(BayescaleWarning):
    """A prediction beyond the fitted runs whose interval lacks the law's own error there."""
