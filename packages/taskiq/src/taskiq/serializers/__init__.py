"""Serializers: JSON by default; ORJSON, MSGPack, CBOR and Pickle behind extras."""

from taskiq.serializers.json_serializer import JSONSerializer

__all__ = ["JSONSerializer"]
