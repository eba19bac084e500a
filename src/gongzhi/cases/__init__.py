"""Requests and events (诉求/事件): intake, classification, routing, handling, clocks,
indicators, and the Open311 GeoReport v2 facade."""
