"""physgen.training"""
