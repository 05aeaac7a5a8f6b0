"""physgen.analysis"""
