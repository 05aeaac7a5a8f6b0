"""physgen.data"""
