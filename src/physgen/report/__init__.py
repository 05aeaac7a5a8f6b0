"""physgen.report"""
