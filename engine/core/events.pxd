# engine/core/events.py: every event is a cclass dataclass deriving from Value.
from engine.core.value cimport Value
