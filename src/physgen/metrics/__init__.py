"""physgen.metrics"""
