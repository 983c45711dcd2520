"""The base every capability builds on: audio, settings, errors, file I/O, model assets.

Nothing here imports a capability (``diarization``, ``speaker_id``, ``live``, ``batch``,
``report``, ``cli``); they all import from here.
"""

#: The distribution's name on the package index (the import name is ``streamz_speaker``;
#: ``streamz`` on the index is python-streamz, an unrelated streaming library).
DISTRIBUTION = "streamz-speaker"


def install_hint(extra: str) -> str:
    """The pip command that installs an optional part, e.g. ``pip install 'streamz-speaker[serve]'``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
