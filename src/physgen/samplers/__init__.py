"""physgen.samplers"""
