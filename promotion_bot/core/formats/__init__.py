"""core/formats"""
