"""Serializers: JSON by default; ORJSON, MSGPack and CBOR behind extras; Pickle.

Every class is importable here; a serializer whose library is missing raises
ImportError naming the extra to install when it is *created*, not on import.
"""

from taskiq.serializers.cbor_serializer import CBORSerializer
from taskiq.serializers.json_serializer import JSONSerializer
from taskiq.serializers.msgpack_serializer import MSGPackSerializer
from taskiq.serializers.orjson_serializer import ORJSONSerializer
from taskiq.serializers.pickle_serializer import PickleSerializer

__all__ = [
    "CBORSerializer",
    "JSONSerializer",
    "MSGPackSerializer",
    "ORJSONSerializer",
    "PickleSerializer",
]
